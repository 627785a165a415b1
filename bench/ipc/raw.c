/* raw.c — the floors Haven is measured against: what a hand-written program
 * gets from the same AF_UNIX SOCK_STREAM socket with no framing layer.
 *
 *  - round trip: the child reads exactly 64 bytes and writes them back;
 *  - one-way: the writer packs 64-byte records into BUFSIZ (8 KiB) writes,
 *    as a stdio-buffered program would; the reader reads big chunks and
 *    walks every record (checking its sequence number) before counting it,
 *    then reports the count back once all have arrived.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/util.h>

#include "bench.h"

struct raw_peer {
	int fd;
	pid_t pid;
};

static void echo_child(int fd, uint64_t unused)
{
	char buf[BENCH_MSG_SIZE];
	for (;;) {
		if (hv_read_full(fd, buf, sizeof buf) < 0)
			_exit(0);
		if (hv_write_full(fd, buf, sizeof buf) < 0)
			_exit(1);
	}
}

/* A child on the other end of a fresh socketpair, pinned as asked, running
 * fn (which never returns). *fd is our end. */
static int spawn_peer(enum bench_pin pin, void (*fn)(int fd, uint64_t arg), uint64_t arg,
		      int *fd, pid_t *pid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (*pid == 0) {
		close(sv[0]);
		bench_pin_self(pin, 1);
		fn(sv[1], arg);
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

int raw_peer_start(const bench_opts *o, raw_peer **out)
{
	int fd;
	pid_t pid;
	int r = spawn_peer(o->lat_pin, echo_child, 0, &fd, &pid);
	if (r < 0)
		return r;
	raw_peer *p = calloc(1, sizeof *p);
	if (!p) {
		close(fd);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ENOMEM;
	}
	p->fd = fd;
	p->pid = pid;
	*out = p;
	return 0;
}

int raw_peer_rtt_block(raw_peer *p, unsigned n, bench_samples *s)
{
	char out[BENCH_MSG_SIZE], in[BENCH_MSG_SIZE];
	memset(out, 'x', sizeof out);
	for (unsigned i = 0; i < n; i++) {
		memcpy(out, &i, sizeof i);
		uint64_t t0 = bench_now_ns();
		int r = hv_write_full(p->fd, out, sizeof out);
		if (r >= 0)
			r = hv_read_full(p->fd, in, sizeof in);
		uint64_t t1 = bench_now_ns();
		if (r < 0)
			return r;
		if (memcmp(in, out, sizeof in) != 0)
			return -EBADMSG;
		if (s && (r = bench_samples_add(s, t1 - t0)) < 0)
			return r;
	}
	return 0;
}

void raw_peer_stop(raw_peer *p)
{
	if (!p)
		return;
	close(p->fd); /* the child sees EOF and exits */
	waitpid(p->pid, NULL, 0);
	free(p);
}

/* The reader: count records as they arrive; report the count when all came. */
static void sink_child(int fd, uint64_t expect)
{
	static char buf[256 << 10];
	uint64_t seen = 0, partial = 0;
	char rec[BENCH_MSG_SIZE];
	while (seen < expect) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		/* Walk every record, as a real receiver would; records may be split
		 * across reads, so reassemble the partial one. */
		for (size_t off = 0; off < (size_t)n;) {
			size_t take = HV_BENCH_MIN(BENCH_MSG_SIZE - partial, (size_t)n - off);
			memcpy(rec + partial, buf + off, take);
			partial += take;
			off += take;
			if (partial == BENCH_MSG_SIZE) {
				uint64_t seq;
				memcpy(&seq, rec, sizeof seq);
				if (seq != seen)
					_exit(2);
				seen++;
				partial = 0;
			}
		}
	}
	if (hv_write_full(fd, &seen, sizeof seen) < 0)
		_exit(1);
	_exit(0);
}

int raw_oneway_run(const bench_opts *o, unsigned count, double *out)
{
	int fd;
	pid_t pid;
	int r = spawn_peer(o->tput_pin, sink_child, count, &fd, &pid);
	if (r < 0)
		return r;
	char batch[BUFSIZ];
	const unsigned per_batch = sizeof batch / BENCH_MSG_SIZE;
	memset(batch, 'x', sizeof batch);
	uint64_t t0 = bench_now_ns();
	for (uint64_t seq = 0; seq < count && r >= 0;) {
		unsigned k = 0;
		for (; k < per_batch && seq < count; k++, seq++)
			memcpy(batch + k * BENCH_MSG_SIZE, &seq, sizeof seq);
		r = hv_write_full(fd, batch, k * BENCH_MSG_SIZE);
	}
	uint64_t seen = 0;
	if (r >= 0)
		r = hv_read_full(fd, &seen, sizeof seen);
	uint64_t t1 = bench_now_ns();
	close(fd);
	int status = 0;
	waitpid(pid, &status, 0);
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || seen != count)
		return -EBADMSG;
	*out = (double)count * 1e9 / (double)(t1 - t0);
	return 0;
}
