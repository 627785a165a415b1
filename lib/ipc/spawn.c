/* spawn.c — a private instance of a service, connected over a socket pair.
 *
 * What SystemServer does for an AcceptSocketConnections service, without
 * a manager: the child gets its end as fd 3 with LISTEN_FDS=1 and
 * LISTEN_FDNAMES=connection, so the service's runner serves exactly that
 * connection and exits when it closes. Clients use it where a shared
 * instance is not wanted (a decoder per client) or not running. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>
#include <haven/util.h>

extern char **environ;

/* "LISTEN_PID=" + the pid, written by the child with no library call:
 * after fork in a threaded parent only async-signal-safe code may run. */
static void format_pid_var(char *buf, size_t size, pid_t pid)
{
	static const char prefix[] = "LISTEN_PID=";
	char digits[16];
	size_t n = 0;
	unsigned long v = (unsigned long)pid;
	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(digits));
	size_t k = sizeof(prefix) - 1;
	memcpy(buf, prefix, k);
	while (n && k + 1 < size)
		buf[k++] = digits[--n];
	buf[k] = 0;
}

int hv_conn_spawn_private(hv_loop *loop, const char *exe, const char *const *args, unsigned flags,
			  hv_conn **out, pid_t *pid)
{
	if (!exe || !*exe || !out)
		return -EINVAL;
	/* Everything the child needs is built before fork: it only fills in
	 * its pid and execs. */
	size_t nenv = 0, nargs = 0;
	while (environ[nenv])
		nenv++;
	while (args && args[nargs])
		nargs++;
	_hv_free_ char **envp = calloc(nenv + 4, sizeof(char *));
	_hv_free_ char **argv = calloc(nargs + 2, sizeof(char *));
	if (!envp || !argv)
		return -ENOMEM;
	char pid_var[32] = "";
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++)
		if (strncmp(environ[i], "LISTEN_", 7) != 0)
			envp[k++] = environ[i];
	envp[k++] = (char *)"LISTEN_FDS=1";
	envp[k++] = (char *)"LISTEN_FDNAMES=connection";
	envp[k++] = pid_var;
	argv[0] = (char *)exe;
	for (size_t i = 0; i < nargs; i++)
		argv[i + 1] = (char *)args[i];

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return hv_log_errno(-errno, "Failed to create a socket pair");
	pid_t child = fork();
	if (child < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		return hv_log_errno(r, "Failed to fork");
	}
	if (child == 0) {
		/* E.g. Ctrl-C is the client's to handle (it cancels): the
		 * service must not die of it first. */
		if (flags & HV_SPAWN_IGNORE_SIGINT)
			signal(SIGINT, SIG_IGN);
		if (dup2(sv[1], 3) < 0) /* dup2 clears CLOEXEC on fd 3 */
			_exit(127);
		format_pid_var(pid_var, sizeof(pid_var), getpid());
		execve(exe, argv, envp);
		_exit(127);
	}
	close(sv[1]);
	int r = hv_conn_from_fd(loop, sv[0], out);
	if (r < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return r;
	}
	if (pid)
		*pid = child;
	return 0;
}
