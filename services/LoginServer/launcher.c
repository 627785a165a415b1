/* launcher.c — the one unsandboxed helper of LoginServer's front: forked
 * in setup() (before the sandbox), it waits for sockets from the front and
 * forks a worker on each. It parses nothing but "one byte + one fd" and
 * exits when the front's end closes. Why it exists: see LoginServer.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "LoginServer.h"

static int launcher_fd = -1;
static pid_t launcher_pid;

/* One fd from a 1-byte message, or -1 (EOF or error). */
static int recv_fd(int sock)
{
	char byte;
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -2;
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

static _Noreturn void launcher_main(int sock)
{
	/* Workers are reaped by the kernel; each resets SIGCHLD to wait for
	 * its own session. */
	signal(SIGCHLD, SIG_IGN);
	sigset_t none;
	sigemptyset(&none); /* the front's loop blocked its signals */
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN); /* a terminal's ^C is for the front */
	hv_log_set_ident("LoginServer[launcher]");
	for (;;) {
		int fd = recv_fd(sock);
		if (fd == -1)
			_exit(0);
		if (fd < 0)
			continue;
		pid_t pid = fork();
		if (pid == 0) {
			close(sock);
			signal(SIGCHLD, SIG_DFL);
			signal(SIGINT, SIG_DFL);
			lgs_worker_main(fd);
		}
		if (pid < 0)
			hv_log_error("cannot fork a worker: %s", strerror(errno));
		close(fd); /* the front sees EOF when the fork failed */
	}
}

int lgs_launcher_start(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		/* Keep stdio (logs) and our socket; drop what the manager
		 * handed the front. */
		if (dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		launcher_main(3);
	}
	close(sv[1]);
	launcher_fd = sv[0];
	launcher_pid = pid;
	return 0;
}

int lgs_launcher_spawn(int worker_fd)
{
	char byte = 'W';
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &worker_fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(launcher_fd, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

void lgs_launcher_stop(void)
{
	if (launcher_fd >= 0) {
		close(launcher_fd); /* it exits at EOF */
		launcher_fd = -1;
	}
	launcher_pid = 0; /* reaped by whoever inherits it: we exit now */
}
