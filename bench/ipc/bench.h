/* bench.h — shared pieces of ipc-bench: sample sets, medians, the result
 * record every measurement fills, and the knobs a run is made with.
 *
 * Every latency is a median of per-iteration samples (robust against the
 * noise of a shared machine); every throughput is messages counted on
 * arrival divided by the time from the first send to the receiver's report.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BENCH_MSG_SIZE 64u
#define HV_BENCH_MIN(a, b) ((a) < (b) ? (a) : (b))

/* How the two processes of a ping-pong are placed (see docs/echoserver.md). */
enum bench_pin {
	BENCH_PIN_NONE,	 /* scheduler decides: default, fairest on a loaded box */
	BENCH_PIN_SAME,	 /* both on CPU 0: no cross-CPU wake-ups */
	BENCH_PIN_SPLIT, /* client CPU 0, server CPU 1 */
};

typedef struct bench_opts {
	unsigned rounds;	/* round trips per latency figure */
	unsigned warmup;	/* round trips discarded first */
	unsigned oneway_msgs;	/* messages per throughput figure */
	unsigned big_calls;	/* calls carrying 64 MiB */
	enum bench_pin pin;
	const char *server_path; /* EchoServer executable */
	const char *tmpdir;	 /* private directory for sockets */
} bench_opts;

/* A growable array of nanosecond samples. */
typedef struct bench_samples {
	uint64_t *v;
	size_t n, cap;
} bench_samples;

int bench_samples_add(bench_samples *s, uint64_t ns);
/* Median of the samples (sorts them in place); 0 if empty. */
uint64_t bench_samples_median(bench_samples *s);
void bench_samples_free(bench_samples *s);

/* Median of three runs (for throughputs, each a whole run). */
double bench_median3(const double v[3]);

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pin the calling process for role 0 (client) or 1 (server). */
void bench_pin_self(enum bench_pin pin, int role);

/* --- raw floors (raw.c) --------------------------------------------------- */
/* A raw AF_UNIX SOCK_STREAM echo peer in a child process. */
typedef struct raw_peer raw_peer;
int raw_peer_start(const bench_opts *o, raw_peer **out);
/* One measured block: `n` round trips of BENCH_MSG_SIZE bytes, each a sample. */
int raw_peer_rtt_block(raw_peer *p, unsigned n, bench_samples *s);
void raw_peer_stop(raw_peer *p);
/* One-way records of BENCH_MSG_SIZE bytes, counted by the reading child. */
int raw_oneway_msgs_s(const bench_opts *o, double *out);

/* --- D-Bus peer (dbus.c; only built with libsystemd) ---------------------- */
typedef struct dbus_peer dbus_peer;
/* -ENOENT when D-Bus cannot be used here (no dbus-daemon); the key is omitted. */
int dbus_peer_start(const bench_opts *o, dbus_peer **out);
int dbus_peer_rtt_block(dbus_peer *p, unsigned n, bench_samples *s);
void dbus_peer_stop(dbus_peer *p);

/* --- Haven (hv.c) ---------------------------------------------------------- */
typedef struct hv_peer hv_peer;
int hv_peer_start(const bench_opts *o, hv_peer **out);
int hv_peer_rtt_block(hv_peer *p, unsigned n, bench_samples *s);
int hv_peer_oneway_msgs_s(hv_peer *p, unsigned n, double *out);
/* n sync EchoBytes calls of BENCH_MSG_SIZE bytes, each a sample. */
int hv_peer_small_block(hv_peer *p, unsigned n, bench_samples *s);
/* n sync EchoBuffer calls of one `size`-byte Buffer (made once, kept by
 * the peer), each a sample that includes releasing the returned buffer. */
int hv_peer_buffer_block(hv_peer *p, size_t size, unsigned n, bench_samples *s);
/* Median of n sync EchoBytes calls of `size` bytes inline (one warm-up). */
int hv_peer_bytes_call_ns(hv_peer *p, size_t size, unsigned n, uint64_t *out);
void hv_peer_stop(hv_peer *p);
