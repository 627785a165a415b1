/* tests/ipc/ipc-rtt.c — a first round-trip figure (not a test): the median
 * time of a sync hv call carrying 64 payload bytes each way, against a raw
 * AF_UNIX SOCK_STREAM socketpair ping-pong of 64 bytes, measured in the
 * same run, and their ratio. The full benchmark is bench/ipc.
 * Usage: ipc-rtt [ITERATIONS] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/loop.h>

#include "testproto.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static uint64_t raw_rtt(size_t iters, uint64_t *t)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		char b[64];
		while (hv_read_full(sv[1], b, sizeof(b)) == 0)
			if (hv_write_full(sv[1], b, sizeof(b)) < 0)
				break;
		_exit(0);
	}
	close(sv[1]);
	char b[64];
	memset(b, 'p', sizeof(b));
	for (size_t i = 0; i < iters; i++) {
		uint64_t t0 = hv_now_ns();
		REQUIRE(hv_write_full(sv[0], b, sizeof(b)) == 0);
		REQUIRE(hv_read_full(sv[0], b, sizeof(b)) == 0);
		t[i] = hv_now_ns() - t0;
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return median(t, iters);
}

static uint64_t hv_rtt(size_t iters, uint64_t *t)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		hv_loop *loop;
		hv_server *s;
		REQUIRE(hv_loop_new(&loop) == 0);
		REQUIRE(hv_server_new(loop, &test_server_endpoint, &ts_handlers, &s) == 0);
		REQUIRE(hv_server_adopt_fd(s, sv[1]) == 0);
		hv_server_set_exit_when_idle(s, true);
		hv_loop_run(loop);
		_exit(0);
	}
	close(sv[1]);
	hv_conn *c;
	REQUIRE(hv_conn_from_fd(NULL, sv[0], &c) == 0);
	/* echo(String): 4-byte length + 59 bytes + NUL = 64 payload bytes. */
	char text[60];
	memset(text, 'p', 59);
	text[59] = 0;
	for (size_t i = 0; i < iters; i++) {
		uint64_t t0 = hv_now_ns();
		REQUIRE(test_server_echo(c, text, NULL) == 0);
		t[i] = hv_now_ns() - t0;
	}
	hv_conn_close(c);
	waitpid(pid, NULL, 0);
	return median(t, iters);
}

int main(int argc, char **argv)
{
	size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000;
	if (iters == 0 || (argc > 1 && strcmp(argv[1], "--help") == 0)) {
		fprintf(stderr, "usage: ipc-rtt [ITERATIONS]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	uint64_t *t = calloc(iters, sizeof(*t));
	REQUIRE(t);
	/* Interleaved rounds so machine load hits both alike. */
	uint64_t raw[5], hv[5];
	for (int r = 0; r < 5; r++) {
		raw[r] = raw_rtt(iters / 5, t);
		hv[r] = hv_rtt(iters / 5, t);
	}
	uint64_t mr = median(raw, 5), mh = median(hv, 5);
	printf("raw socketpair ping-pong (64 B): median %.2f us\n", mr / 1000.0);
	printf("hv sync call (64 B payload):     median %.2f us\n", mh / 1000.0);
	printf("ratio hv/raw: %.3f\n", (double)mh / (double)mr);
	free(t);
	return 0;
}
