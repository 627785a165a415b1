/* identity.c — who a peer is, in the kernel's words.
 *
 * SO_PEERCRED's pid is a number recorded at connect; by the time we read
 * /proc/PID/exe that process may have exited and its pid gone to another.
 * SO_PEERPIDFD names the process itself: its pid is read from the pidfd's
 * fdinfo before and after the executable, and if the process is gone
 * (Pid: -1) or a different one answers, the peer is not identified. A
 * client cannot name its own executable: it is what the kernel says it is
 * running (see docs/filesystemaccessserver.md for what that does and does
 * not prove). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/util.h>

#include "FileSystemAccessServer.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

static pid_t pidfd_pid(int pidfd)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", pidfd);
	_hv_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	const char *p = strstr(buf, "\nPid:");
	if (!p)
		return -ENOSYS;
	long pid = strtol(p + 5, NULL, 10);
	return pid > 0 ? (pid_t)pid : -ESRCH;
}

int fsa_identify(hv_conn *c, fsa_identity *out)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	int sock = hv_conn_fd(c);
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	int pidfd_raw = -1;
	len = sizeof pidfd_raw;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd_raw, &len) < 0)
		return -errno; /* before Linux 6.5: no safe identity, no grants */
	_hv_close_ int pidfd = pidfd_raw;
	pid_t pid = pidfd_pid(pidfd);
	if (pid < 0)
		return pid;
	char link[64];
	snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, out->exe, sizeof out->exe - 1);
	if (n < 0)
		return -errno;
	out->exe[n] = 0;
	/* Still that process: the executable read was its own. */
	if (pidfd_pid(pidfd) != pid)
		return -ESRCH;
	out->pid = pid;
	out->uid = cred.uid;
	return 0;
}
