/* peer.c — another chess program as a child on pipes, read line by line
 * with a deadline: Stockfish (UCI) for the speed comparison, Fairy-Max
 * (xboard) for the match. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peer.h"

int peer_start(struct peer *p, char *const argv[])
{
	int to[2], from[2];
	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	*p = (struct peer){.pid = pid, .to = fdopen(to[1], "w"), .from = from[0]};
	return p->to ? 0 : -ENOMEM;
}

void peer_send(struct peer *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(p->to, fmt, ap);
	va_end(ap);
	fputc('\n', p->to);
	fflush(p->to);
}

/* The next line, NULL after timeout_ms or at end of output. */
const char *peer_line(struct peer *p, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		if (nl) {
			size_t n = (size_t)(nl - p->buf) + 1;
			memcpy(p->line, p->buf, n - 1);
			p->line[n - 1] = 0;
			memmove(p->buf, p->buf + n, p->len - n);
			p->len -= n;
			return p->line;
		}
		struct pollfd pfd = {.fd = p->from, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return NULL;
		if (p->len == sizeof p->buf)
			p->len = 0; /* an absurd line: dropped */
		ssize_t r = read(p->from, p->buf + p->len, sizeof p->buf - p->len);
		if (r <= 0)
			return NULL;
		p->len += (size_t)r;
	}
}

/* Lines until one starts with `prefix`; NULL on timeout. */
const char *peer_expect(struct peer *p, const char *prefix, int timeout_ms)
{
	const char *l;
	while ((l = peer_line(p, timeout_ms)))
		if (!strncmp(l, prefix, strlen(prefix)))
			return l;
	return NULL;
}

void peer_stop(struct peer *p)
{
	if (!p->pid)
		return;
	peer_send(p, "quit");
	fclose(p->to);
	close(p->from);
	for (int i = 0; i < 50 && waitpid(p->pid, NULL, WNOHANG) == 0; i++)
		usleep(10000);
	if (kill(p->pid, SIGKILL) == 0)
		waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
