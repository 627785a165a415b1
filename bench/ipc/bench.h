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

/* How the processes are placed (see docs/echoserver.md). On this VM a
 * wake-up of an idle CPU costs ~50 us (halt + IPI in the hypervisor), so a
 * ping-pong across two CPUs measures that, not IPC: latency runs on one
 * CPU; a throughput pipeline wants producer and consumer on two. */
enum bench_pin {
	BENCH_PIN_AUTO,	 /* default: latency SAME, throughput SPLIT */
	BENCH_PIN_NONE,	 /* scheduler decides */
	BENCH_PIN_SAME,	 /* both on CPU 0: no cross-CPU wake-ups */
	BENCH_PIN_SPLIT, /* client CPU 0, server CPU 1 */
};

typedef struct bench_opts {
	unsigned rounds;	/* round trips per latency figure */
	unsigned warmup;	/* round trips discarded first */
	unsigned oneway_msgs;	/* messages per throughput figure */
	unsigned big_calls;	/* calls carrying 64 MiB */
	enum bench_pin pin;	/* as asked (--pin) */
	enum bench_pin lat_pin;	/* placement for latency figures (never AUTO) */
	enum bench_pin tput_pin; /* placement for throughput figures (never AUTO) */
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


static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Pin the calling process (or pid) for role 0 (client) or 1 (server);
 * NONE lets it run anywhere again. Best effort. */
void bench_pin_self(enum bench_pin pin, int role);
void bench_pin_pid(int pid, enum bench_pin pin, int role);
const char *bench_pin_name(enum bench_pin pin);

/* --- raw floors (raw.c) --------------------------------------------------- */
/* A raw AF_UNIX SOCK_STREAM echo peer in a child process. */
typedef struct raw_peer raw_peer;
int raw_peer_start(const bench_opts *o, raw_peer **out);
/* One measured block: `n` round trips of BENCH_MSG_SIZE bytes, each a sample. */
int raw_peer_rtt_block(raw_peer *p, unsigned n, bench_samples *s);
void raw_peer_stop(raw_peer *p);
/* One run of `count` one-way records of BENCH_MSG_SIZE bytes, counted by a
 * fresh reading child (placed by o->tput_pin); records per second. */
int raw_oneway_run(const bench_opts *o, unsigned count, double *out);

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
/* One run of n one-way Discard messages; messages per second. */
int hv_peer_oneway_run(hv_peer *p, unsigned n, double *out);
/* Move the server process to the placement for `pin` (role 1). */
void hv_peer_pin(hv_peer *p, enum bench_pin pin);
/* n sync EchoBytes calls of BENCH_MSG_SIZE bytes, each a sample. */
int hv_peer_small_block(hv_peer *p, unsigned n, bench_samples *s);
/* n sync EchoBuffer calls of one `size`-byte Buffer (made once per size,
 * two sizes kept by the peer), each a sample that includes releasing the
 * returned buffer. */
int hv_peer_buffer_block(hv_peer *p, size_t size, unsigned n, bench_samples *s);
/* Median of n sync EchoBytes calls of `size` bytes inline (one warm-up). */
int hv_peer_bytes_call_ns(hv_peer *p, size_t size, unsigned n, uint64_t *out);
void hv_peer_stop(hv_peer *p);
