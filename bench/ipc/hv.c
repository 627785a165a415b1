/* hv.c — the Haven side of ipc-bench: EchoServer in its own process
 * (fork + exec `EchoServer --socket`), called through the stubs ipcc
 * generated from services/EchoServer/EchoServer.ipc — exactly what a
 * service's client does.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/ipc.h>

#include "EchoServer.ipc.h"
#include "bench.h"

/* Bound on waiting for the server's socket: a hang guard, not a measurement. */
#define START_TIMEOUT_NS (30ull * 1000000000ull)

struct hv_peer {
	pid_t pid;
	hv_conn *conn; /* loop-less: sync calls, as echo-client makes them */
	/* With a loop, one-way sends are coalesced (flushed at 64 KiB or when the
	 * loop turns), as in any service or client that runs a loop. */
	hv_loop *loop;
	hv_conn *bulk;
	hv_buffer bufs[2]; /* for EchoBuffer, one per size, made on first use */
	char path[108]; /* sun_path */
};

static bool can_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return false;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

int hv_peer_start(const bench_opts *o, hv_peer **out)
{
	if (!o->server_path)
		return -ENOENT;
	hv_peer *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	p->bufs[0] = p->bufs[1] = HV_BUFFER_EMPTY;
	snprintf(p->path, sizeof p->path, "%s/echo.sock", o->tmpdir);
	p->pid = fork();
	if (p->pid < 0) {
		free(p);
		return -errno;
	}
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		bench_pin_self(o->lat_pin, 1); /* inherited across exec */
		execl(o->server_path, o->server_path, "--socket", p->path, (char *)NULL);
		_exit(127);
	}
	int r = 0;
	uint64_t t0 = bench_now_ns();
	while (!can_connect(p->path)) {
		if (waitpid(p->pid, NULL, WNOHANG) == p->pid) {
			p->pid = 0;
			r = -ECHILD;
			break;
		}
		if (bench_now_ns() - t0 > START_TIMEOUT_NS) {
			r = -ETIMEDOUT;
			break;
		}
		poll(NULL, 0, 5);
	}
	if (r >= 0)
		r = hv_conn_connect(NULL, p->path, &p->conn);
	if (r >= 0)
		r = hv_loop_new(&p->loop);
	if (r >= 0)
		r = hv_conn_connect(p->loop, p->path, &p->bulk);
	if (r < 0) {
		hv_peer_stop(p);
		return r;
	}
	*out = p;
	return 0;
}

int hv_peer_rtt_block(hv_peer *p, unsigned n, bench_samples *s)
{
	char text[BENCH_MSG_SIZE + 1];
	memset(text, 'x', BENCH_MSG_SIZE);
	text[BENCH_MSG_SIZE] = '\0';
	for (unsigned i = 0; i < n; i++) {
		const char *back = NULL;
		uint64_t t0 = bench_now_ns();
		int r = echo_server_echo(p->conn, text, &back);
		uint64_t t1 = bench_now_ns();
		if (r < 0)
			return r;
		if (strcmp(back, text) != 0)
			return -EBADMSG;
		if (s && (r = bench_samples_add(s, t1 - t0)) < 0)
			return r;
	}
	return 0;
}

/* n one-way Discard messages, then a Stats call: it is answered only after
 * the server has dispatched every earlier message on the connection, so the
 * time is the time until the server has received and counted all n. */
int hv_peer_oneway_run(hv_peer *p, unsigned n, double *out)
{
	uint8_t data[BENCH_MSG_SIZE];
	memset(data, 'x', sizeof data);
	uint64_t before, after, pings, bytes;
	int r = echo_server_stats(p->bulk, &pings, &before, &bytes);
	if (r < 0)
		return r;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		r = echo_server_discard(p->bulk, (hv_bytes){data, sizeof data});
		if (r < 0)
			return r;
	}
	r = echo_server_stats(p->bulk, &pings, &after, &bytes);
	uint64_t t1 = bench_now_ns();
	if (r < 0)
		return r;
	if (after - before != n)
		return -EBADMSG;
	*out = (double)n * 1e9 / (double)(t1 - t0);
	return 0;
}

void hv_peer_pin(hv_peer *p, enum bench_pin pin) { bench_pin_pid(p->pid, pin, 1); }

int hv_peer_small_block(hv_peer *p, unsigned n, bench_samples *s)
{
	uint8_t data[BENCH_MSG_SIZE];
	memset(data, 'x', sizeof data);
	for (unsigned i = 0; i < n; i++) {
		hv_bytes back = {0};
		uint64_t t0 = bench_now_ns();
		int r = echo_server_echo_bytes(p->conn, (hv_bytes){data, sizeof data}, &back);
		uint64_t t1 = bench_now_ns();
		if (r < 0)
			return r;
		if (back.len != sizeof data || memcmp(back.data, data, sizeof data) != 0)
			return -EBADMSG;
		if (s && (r = bench_samples_add(s, t1 - t0)) < 0)
			return r;
	}
	return 0;
}

int hv_peer_bytes_call_ns(hv_peer *p, size_t size, unsigned n, uint64_t *out)
{
	uint8_t *data = malloc(size ? size : 1);
	if (!data)
		return -ENOMEM;
	memset(data, 'x', size);
	bench_samples s = {0};
	int r = 0;
	for (unsigned i = 0; r >= 0 && i < n + 1; i++) {
		hv_bytes back = {0};
		uint64_t t0 = bench_now_ns();
		r = echo_server_echo_bytes(p->conn, (hv_bytes){data, size}, &back);
		uint64_t t1 = bench_now_ns();
		if (r >= 0 && back.len != size)
			r = -EBADMSG;
		if (r >= 0 && i > 0) /* the first call warms up */
			r = bench_samples_add(&s, t1 - t0);
	}
	if (r >= 0)
		*out = bench_samples_median(&s);
	bench_samples_free(&s);
	free(data);
	return r;
}

/* The buffer is created and filled once, like an image a client keeps; each
 * call passes it and gets the server's reference back, which the caller
 * then releases (that release is part of the cost, so it is timed). */
int hv_peer_buffer_block(hv_peer *p, size_t size, unsigned n, bench_samples *s)
{
	hv_buffer *buf = p->bufs[0].size == size || p->bufs[0].fd < 0 ? &p->bufs[0] : &p->bufs[1];
	if (buf->fd < 0 || buf->size != size) {
		hv_buffer_release(buf);
		int r = hv_buffer_create(size, buf);
		if (r < 0)
			return r;
		memset(buf->data, 'x', size);
	}
	for (unsigned i = 0; i < n; i++) {
		hv_buffer back = HV_BUFFER_EMPTY;
		uint64_t t0 = bench_now_ns();
		int r = echo_server_echo_buffer(p->conn, *buf, &back);
		bool ok = r >= 0 && back.size == size;
		hv_buffer_release(&back);
		uint64_t t1 = bench_now_ns();
		if (r < 0)
			return r;
		if (!ok)
			return -EBADMSG;
		if (s && (r = bench_samples_add(s, t1 - t0)) < 0)
			return r;
	}
	return 0;
}

void hv_peer_stop(hv_peer *p)
{
	if (!p)
		return;
	if (p->conn)
		hv_conn_close(p->conn);
	/* Let the loop run the flush the runtime deferred (it holds a reference
	 * to the connection), as any client's loop would. */
	if (p->loop)
		hv_loop_run_once(p->loop, 0);
	if (p->bulk)
		hv_conn_close(p->bulk);
	hv_loop_free(p->loop);
	hv_buffer_release(&p->bufs[0]);
	hv_buffer_release(&p->bufs[1]);
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
	free(p);
}
