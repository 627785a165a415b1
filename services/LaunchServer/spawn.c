/* spawn.c — the spawner helper and its one request (spawn.h). Wire: one
 * SOCK_SEQPACKET message "DIR\0ARG0\0ARG1\0..." (DIR "" for $HOME), one
 * int32 reply: the pid or a negative errno. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "spawn.h"

#define SPAWN_MAX_REQUEST (256u << 10) /* argv + dir of one request */
#define SPAWN_MAX_ARGS	  4096u

struct lch_spawner {
	int fd;
	pid_t pid;
};

/* In the app's child: its own session, stdio, default signals, exec. */
__attribute__((noreturn)) static void child_exec(char **argv, const char *dir, bool keep_output,
						 int err_fd)
{
	setsid();
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	int e = 0;
	if (null < 0 || dup2(null, 0) < 0 ||
	    (!keep_output && (dup2(null, 1) < 0 || dup2(null, 2) < 0)))
		e = errno;
	if (keep_output && !e && dup2(2, 1) < 0)
		e = errno;
	const char *home = getenv("HOME");
	if (!e && (dir && *dir ? chdir(dir) : (home ? chdir(home) : 0)) < 0)
		e = errno;
	if (!e) {
		execvp(argv[0], argv);
		e = errno;
	}
	int32_t v = e;
	(void)!write(err_fd, &v, sizeof(v));
	_exit(127);
}

/* One request: fork, and learn from a close-on-exec pipe whether exec
 * worked (EOF: it did). */
static int32_t serve_one(char *req, size_t len, bool keep_output)
{
	char *argv[SPAWN_MAX_ARGS + 1];
	size_t argc = 0;
	if (!len || req[len - 1] != '\0')
		return -EINVAL;
	const char *dir = req;
	for (char *p = req + strlen(req) + 1; p < req + len && argc < SPAWN_MAX_ARGS;
	     p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;
	if (!argc)
		return -EINVAL;
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(pfd[0]);
		close(pfd[1]);
		return -e;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_exec(argv, dir, keep_output, pfd[1]);
	}
	close(pfd[1]);
	int32_t e = 0;
	ssize_t n;
	while ((n = read(pfd[0], &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(pfd[0]);
	return n == (ssize_t)sizeof(e) && e > 0 ? -e : (int32_t)pid;
}

__attribute__((noreturn)) static void helper_main(int fd, bool keep_output)
{
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "LaunchServer-sp");
	/* Nothing of the service's but our socket (and stdio). */
	if (fd != 3) {
		dup2(fd, 3);
		fd = 3;
	}
	syscall(SYS_close_range, 4, ~0u, 0);
	/* Apps are detached: nobody here waits for them. */
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	static const char *const manager_vars[] = {"LISTEN_FDS",      "LISTEN_PID",
						   "LISTEN_FDNAMES",  "HAVEN_HANDOFF_FD",
						   "SOCKET_TAKEOVER", "NOTIFY_SOCKET"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(manager_vars); i++)
		unsetenv(manager_vars[i]);
	char *req = malloc(SPAWN_MAX_REQUEST);
	if (!req)
		_exit(1);
	for (;;) {
		ssize_t n = recv(fd, req, SPAWN_MAX_REQUEST, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);
		int32_t rep = (size_t)n > SPAWN_MAX_REQUEST
				      ? -E2BIG
				      : serve_one(req, (size_t)n, keep_output);
		if (send(fd, &rep, sizeof(rep), MSG_NOSIGNAL) < 0)
			_exit(0);
	}
}

int lch_spawner_start(bool keep_output, struct lch_spawner **out)
{
	struct lch_spawner *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = errno;
		free(s);
		return hv_log_errno(-e, "Failed to make the spawner's socket");
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(sv[0]);
		close(sv[1]);
		free(s);
		return hv_log_errno(-e, "Failed to start the spawner");
	}
	if (pid == 0) {
		close(sv[0]);
		helper_main(sv[1], keep_output);
	}
	close(sv[1]);
	/* A spawn is a fork and an exec: never long; a helper that does not
	 * answer in 10 s is broken. */
	struct timeval tv = {.tv_sec = 10};
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s->fd = sv[0];
	s->pid = pid;
	*out = s;
	return 0;
}

void lch_spawner_stop(struct lch_spawner *s)
{
	if (!s)
		return;
	close(s->fd);
	/* It exits on EOF; reap it (it has nothing to finish). */
	while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
	free(s);
}

pid_t lch_spawn(struct lch_spawner *s, char *const argv[], const char *dir)
{
	size_t len = strlen(dir ? dir : "") + 1, argc = 0;
	for (; argv[argc]; argc++)
		len += strlen(argv[argc]) + 1;
	if (!argc)
		return -EINVAL;
	if (len > SPAWN_MAX_REQUEST || argc > SPAWN_MAX_ARGS)
		return -E2BIG;
	_hv_free_ char *req = malloc(len);
	if (!req)
		return -ENOMEM;
	size_t o = 0;
	const char *d = dir ? dir : "";
	memcpy(req, d, strlen(d) + 1);
	o += strlen(d) + 1;
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(req + o, argv[i], n);
		o += n;
	}
	if (send(s->fd, req, len, MSG_NOSIGNAL) < 0)
		return -EPIPE;
	int32_t rep;
	ssize_t n;
	while ((n = recv(s->fd, &rep, sizeof(rep), 0)) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(rep))
		return n < 0 && errno == EAGAIN ? -ETIMEDOUT : -EPIPE;
	return rep;
}
