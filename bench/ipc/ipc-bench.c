/* ipc-bench — how close Haven's IPC comes to the raw socket, in one run.
 *
 * Each Haven figure is measured next to its floor in the same run, and the
 * ratio is printed: round-trip latency (raw socket ping-pong vs a generated
 * sync Echo call vs D-Bus), one-way throughput (raw batched writes vs
 * generated one-way sends counted by the server), and large payloads (a
 * 64 MiB shared-memory Buffer vs 64 MiB inline bytes vs a 64-byte call).
 *
 * Latencies are medians of per-call samples. The three round trips are
 * measured in many interleaved blocks (raw, hv, dbus, raw, hv, dbus, ...) so
 * that load from other processes and drift hit them alike; so are the
 * small, 4 KiB Buffer and 64 MiB Buffer calls, and the raw and Haven
 * one-way runs.
 *
 * Placement (default): latency figures with both processes on CPU 0, the
 * throughput figures with the client on CPU 0 and the server on CPU 1. On
 * this VM an idle CPU takes ~50 us to wake (halt + IPI through the
 * hypervisor), so a ping-pong split across CPUs measures that instead of
 * IPC, while a one-way pipeline needs both CPUs working at once.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define BIG_SIZE ((size_t)64 << 20)
#define SMALL_BUF_SIZE ((size_t)4 << 10)
#define BLOCKS 40u
/* The raw one-way floor is so fast that a run of oneway_msgs lasts a few
 * scheduler ticks and swings with whatever else runs: each raw run sends
 * 4x as many records (the figure is a rate, so it stays comparable). */
#define RAW_ONEWAY_SCALE 4u
#define ONEWAY_RUNS 5u

struct results {
	uint64_t raw_rtt, hv_rtt, dbus_rtt;
	double raw_oneway, hv_oneway;
	uint64_t small_call, buffer_call, buffer_4k_call, bytes_call;
	bool have_hv, have_dbus;
};

/* Without lib/ipc (or libsystemd) the bench still measures the rest. */
#ifndef HAVE_HV
int hv_peer_rtt_block(hv_peer *p, unsigned n, bench_samples *s) { return -ENOSYS; }
int hv_peer_oneway_run(hv_peer *p, unsigned n, double *out) { return -ENOSYS; }
void hv_peer_pin(hv_peer *p, enum bench_pin pin) {}
void hv_peer_stop(hv_peer *p) {}
#endif
#ifndef HAVE_DBUS
int dbus_peer_rtt_block(dbus_peer *p, unsigned n, bench_samples *s) { return -ENOSYS; }
void dbus_peer_stop(dbus_peer *p) {}
#endif

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
		"Usage: %s [OPTIONS]\n"
		"Measure Haven IPC against a raw AF_UNIX socket and D-Bus, in one run.\n\n"
		"  --json            print one JSON object instead of the table\n"
		"  --rounds N        round trips per latency figure (default 20000)\n"
		"  --messages N      one-way messages per throughput run (default 1000000)\n"
		"  --pin MODE        auto (default): latency figures with both processes on\n"
		"                    CPU 0, throughput (one-way) with client CPU 0 / server\n"
		"                    CPU 1 -- an idle CPU of this VM takes ~50 us to wake, so a\n"
		"                    ping-pong across CPUs measures the hypervisor, while a\n"
		"                    pipeline needs two CPUs; or one placement for all:\n"
		"                    none (scheduler), same (CPU 0), split (CPU 0 / CPU 1)\n"
		"  --server PATH     EchoServer executable (default: the one built with this)\n"
		"  --no-dbus         skip the D-Bus comparison\n"
		"  --oneway          only the one-way figures, in both placements (same CPU,\n"
		"                    split), 10 interleaved runs each (raw, Haven, per\n"
		"                    placement), medians and ratios against the goals\n"
		"                    (issue 13: >= 0.35x same, >= 0.5x split)\n"
		"  --quick           a smoke run: few rounds and messages, one big call (figures\n"
		"                    are not meaningful; checks that every measurement works)\n"
		"  -h, --help        show this help\n",
		argv0);
}

static int parse_uint(const char *s, unsigned min, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > 100000000ul)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/* Latency figures, interleaved block by block. */
static int measure_rtt(const bench_opts *o, raw_peer *raw, hv_peer *hv, dbus_peer *dbus,
		       struct results *res)
{
	bench_samples s_raw = {0}, s_hv = {0}, s_dbus = {0};
	unsigned per_block = o->rounds / BLOCKS + 1;
	/* D-Bus is an order of magnitude slower: fewer rounds keep the run short. */
	unsigned dbus_per_block = per_block / 4 + 1;
	int r = raw_peer_rtt_block(raw, o->warmup, NULL);
	if (r >= 0 && hv)
		r = hv_peer_rtt_block(hv, o->warmup, NULL);
	if (r >= 0 && dbus)
		r = dbus_peer_rtt_block(dbus, o->warmup / 4 + 1, NULL);
	for (unsigned b = 0; r >= 0 && b < BLOCKS; b++) {
		r = raw_peer_rtt_block(raw, per_block, &s_raw);
		if (r >= 0 && hv)
			r = hv_peer_rtt_block(hv, per_block, &s_hv);
		if (r >= 0 && dbus)
			r = dbus_peer_rtt_block(dbus, dbus_per_block, &s_dbus);
	}
	if (r >= 0) {
		res->raw_rtt = bench_samples_median(&s_raw);
		res->hv_rtt = bench_samples_median(&s_hv);
		res->dbus_rtt = bench_samples_median(&s_dbus);
	}
	bench_samples_free(&s_raw);
	bench_samples_free(&s_hv);
	bench_samples_free(&s_dbus);
	return r;
}

#ifdef HAVE_HV
/* The 64-byte call and the 64 MiB Buffer call, interleaved block by block
 * like the round trips, so that their ratio compares like with like. */
static int measure_calls(const bench_opts *o, hv_peer *hv, struct results *res)
{
	bench_samples s_small = {0}, s_buf = {0}, s_buf4k = {0};
	unsigned small = o->rounds / 4 / BLOCKS + 1, buf = o->big_calls * 40 / BLOCKS + 1;
	int r = hv_peer_small_block(hv, small, NULL);
	if (r >= 0)
		r = hv_peer_buffer_block(hv, BIG_SIZE, buf, NULL);
	if (r >= 0)
		r = hv_peer_buffer_block(hv, SMALL_BUF_SIZE, buf, NULL);
	for (unsigned b = 0; r >= 0 && b < BLOCKS; b++) {
		r = hv_peer_small_block(hv, small, &s_small);
		if (r >= 0)
			r = hv_peer_buffer_block(hv, BIG_SIZE, buf, &s_buf);
		if (r >= 0)
			r = hv_peer_buffer_block(hv, SMALL_BUF_SIZE, buf, &s_buf4k);
	}
	if (r >= 0) {
		res->small_call = bench_samples_median(&s_small);
		res->buffer_call = bench_samples_median(&s_buf);
		res->buffer_4k_call = bench_samples_median(&s_buf4k);
	}
	bench_samples_free(&s_small);
	bench_samples_free(&s_buf);
	bench_samples_free(&s_buf4k);
	return r;
}
#endif

static void print_json(const struct results *r)
{
	printf("{\"raw_rtt_ns\": %" PRIu64, r->raw_rtt);
	if (r->have_hv)
		printf(", \"hv_rtt_ns\": %" PRIu64 ", \"rtt_ratio\": %.3f", r->hv_rtt,
		       (double)r->hv_rtt / (double)r->raw_rtt);
	printf(", \"raw_oneway_msgs_s\": %.0f", r->raw_oneway);
	if (r->have_hv)
		printf(", \"hv_oneway_msgs_s\": %.0f, \"small_call_ns\": %" PRIu64
		       ", \"buffer_64m_call_ns\": %" PRIu64 ", \"buffer_4k_call_ns\": %" PRIu64
		       ", \"bytes_64m_call_ns\": %" PRIu64,
		       r->hv_oneway, r->small_call, r->buffer_call, r->buffer_4k_call, r->bytes_call);
	if (r->have_dbus)
		printf(", \"dbus_rtt_ns\": %" PRIu64, r->dbus_rtt);
	printf("}\n");
}

static const char *verdict(bool ok) { return ok ? "ok" : "MISSED"; }

static void print_table(const bench_opts *o, const struct results *r)
{
	printf("ipc-bench: %u round trips per latency (median), %u one-way messages, "
	       "%u-byte payloads\n",
	       o->rounds, o->oneway_msgs, BENCH_MSG_SIZE);
	if (o->pin == BENCH_PIN_AUTO)
		printf("placement: latency with both processes on CPU 0, one-way with client CPU 0 /\n"
		       "server CPU 1 (an idle CPU of this VM takes ~50 us to wake: a ping-pong across\n"
		       "CPUs would measure that; a pipeline needs both CPUs)\n\n");
	else
		printf("placement: %s for every figure (--pin)\n\n", bench_pin_name(o->pin));
	printf("%-22s %16s\n", "measure", "value");
	printf("%-22s %13" PRIu64 " ns\n", "raw_rtt_ns", r->raw_rtt);
	if (r->have_hv)
		printf("%-22s %13" PRIu64 " ns\n", "hv_rtt_ns", r->hv_rtt);
	if (r->have_dbus)
		printf("%-22s %13" PRIu64 " ns\n", "dbus_rtt_ns", r->dbus_rtt);
	printf("%-22s %12.0f /s\n", "raw_oneway_msgs_s", r->raw_oneway);
	if (r->have_hv) {
		printf("%-22s %12.0f /s\n", "hv_oneway_msgs_s", r->hv_oneway);
		printf("%-22s %13" PRIu64 " ns\n", "small_call_ns", r->small_call);
		printf("%-22s %13" PRIu64 " ns\n", "buffer_64m_call_ns", r->buffer_call);
		printf("%-22s %13" PRIu64 " ns\n", "buffer_4k_call_ns", r->buffer_4k_call);
		printf("%-22s %13" PRIu64 " ns\n", "bytes_64m_call_ns", r->bytes_call);
	}
	printf("\n%-34s %8s %8s\n", "ratio", "value", "target");
	if (r->have_hv) {
		double rtt = (double)r->hv_rtt / (double)r->raw_rtt;
		double ow = r->hv_oneway / r->raw_oneway;
		double buf = (double)r->buffer_call / (double)r->small_call;
		double bytes = (double)r->bytes_call / (double)r->buffer_call;
		printf("%-34s %8.3f %8s %s\n", "rtt_ratio (hv / raw)", rtt, "<= 1.15",
		       verdict(rtt <= 1.15));
		printf("%-34s %8.3f %8s %s\n", "oneway (hv / raw)", ow, ">= 0.5", verdict(ow >= 0.5));
		printf("%-34s %8.3f %8s %s\n", "buffer_64m / small_call", buf, "<= 2",
		       verdict(buf <= 2.0));
		printf("%-34s %8.3f %8s\n", "buffer_64m / buffer_4k",
		       (double)r->buffer_call / (double)r->buffer_4k_call, "-");
		printf("%-34s %8.1f %8s\n", "bytes_64m / buffer_64m", bytes, "-");
		if (r->have_dbus) {
			double d = (double)r->dbus_rtt / (double)r->hv_rtt;
			printf("%-34s %8.2f %8s %s\n", "dbus_rtt / hv_rtt (Haven faster)", d,
			       ">= 2.5", verdict(d >= 2.5));
		}
	} else {
		printf("(Haven figures unavailable: built without lib/ipc)\n");
	}
	if (r->have_dbus)
		printf("%-34s %8.2f %8s\n", "dbus_rtt / raw_rtt", (double)r->dbus_rtt / (double)r->raw_rtt,
		       "-");
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median_runs(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Raw and Haven one-way runs, interleaved (raw, hv, raw, hv, ...): the
 * median of each (the split floor swings with whether CPU 1 idles). */
static int measure_oneway(const bench_opts *o, hv_peer *hv, struct results *res)
{
	double raw[ONEWAY_RUNS], hvr[ONEWAY_RUNS], warm;
	int r = raw_oneway_run(o, o->oneway_msgs / 10 + 1, &warm);
	if (r >= 0 && hv)
		r = hv_peer_oneway_run(hv, o->oneway_msgs / 10 + 1, &warm);
	for (unsigned i = 0; r >= 0 && i < ONEWAY_RUNS; i++) {
		r = raw_oneway_run(o, o->oneway_msgs * RAW_ONEWAY_SCALE, &raw[i]);
		if (r >= 0 && hv)
			r = hv_peer_oneway_run(hv, o->oneway_msgs, &hvr[i]);
	}
	if (r < 0)
		return r;
	res->raw_oneway = median_runs(raw, ONEWAY_RUNS);
	if (hv)
		res->hv_oneway = median_runs(hvr, ONEWAY_RUNS);
	return 0;
}

/* --oneway: the one-way figures alone, in both placements, runs
 * interleaved (raw same, Haven same, raw split, Haven split, ...). */
#define ONEWAY_ONLY_RUNS 10u
static const enum bench_pin oneway_pins[2] = {BENCH_PIN_SAME, BENCH_PIN_SPLIT};
static const double oneway_goal[2] = {0.35, 0.5};

static int run_oneway(bench_opts *o, bool json)
{
	hv_peer *hv = NULL;
	bench_pin_self(BENCH_PIN_SAME, 0);
	int r = hv_peer_start(o, &hv);
	if (r < 0) {
		fprintf(stderr, "ipc-bench: cannot start EchoServer (%s): %s\n", o->server_path,
			strerror(-r));
		return r;
	}
	double raw[2][ONEWAY_ONLY_RUNS], hvr[2][ONEWAY_ONLY_RUNS], warm;
	unsigned runs = o->oneway_msgs < 100000 ? 2 : ONEWAY_ONLY_RUNS;
	for (unsigned i = 0; r >= 0 && i < runs; i++)
		for (int p = 0; r >= 0 && p < 2; p++) {
			o->tput_pin = oneway_pins[p];
			bench_pin_self(o->tput_pin, 0);
			hv_peer_pin(hv, o->tput_pin);
			if (i == 0)
				r = hv_peer_oneway_run(hv, o->oneway_msgs / 10 + 1, &warm);
			if (r >= 0)
				r = raw_oneway_run(o, o->oneway_msgs * RAW_ONEWAY_SCALE, &raw[p][i]);
			if (r >= 0)
				r = hv_peer_oneway_run(hv, o->oneway_msgs, &hvr[p][i]);
		}
	hv_peer_stop(hv);
	if (r < 0) {
		fprintf(stderr, "ipc-bench: one-way runs failed: %s\n", strerror(-r));
		return r;
	}
	if (!json)
		printf("ipc-bench --oneway: %u one-way %u-byte messages per Haven run, median of %u "
		       "interleaved runs per placement\n\n%-12s %14s %14s %8s %8s\n",
		       o->oneway_msgs, BENCH_MSG_SIZE, runs, "placement", "raw /s", "haven /s",
		       "ratio", "goal");
	for (int p = 0; p < 2; p++) {
		double ratios[ONEWAY_ONLY_RUNS];
		for (unsigned i = 0; i < runs; i++)
			ratios[i] = hvr[p][i] / raw[p][i];
		double mr = median_runs(raw[p], runs), mh = median_runs(hvr[p], runs),
		       lo = ratios[0], hi = ratios[0];
		for (unsigned i = 1; i < runs; i++) {
			lo = ratios[i] < lo ? ratios[i] : lo;
			hi = ratios[i] > hi ? ratios[i] : hi;
		}
		double ratio = median_runs(ratios, runs);
		const char *name = p == 0 ? "same" : "split";
		if (json)
			printf("%s\"raw_oneway_%s_msgs_s\": %.0f, \"hv_oneway_%s_msgs_s\": %.0f, "
			       "\"oneway_%s_ratio\": %.3f%s",
			       p == 0 ? "{" : "", name, mr, name, mh, name, ratio, p == 1 ? "}\n" : ", ");
		else
			printf("%-12s %14.0f %14.0f %8.3f %8s %s (per run %.3f..%.3f)\n", name, mr, mh,
			       ratio, p == 0 ? ">= 0.35" : ">= 0.5", verdict(ratio >= oneway_goal[p]), lo,
			       hi);
	}
	return 0;
}

static int run(bench_opts *o, bool use_dbus, struct results *res)
{
	raw_peer *raw = NULL;
	hv_peer *hv = NULL;
	dbus_peer *dbus = NULL;
	/* Children inherit this placement (the D-Bus daemon too). */
	bench_pin_self(o->lat_pin, 0);
	int r = raw_peer_start(o, &raw);
	if (r < 0) {
		fprintf(stderr, "ipc-bench: cannot start the raw echo peer: %s\n", strerror(-r));
		return r;
	}
#ifdef HAVE_HV
	r = hv_peer_start(o, &hv);
	if (r < 0) {
		fprintf(stderr, "ipc-bench: cannot start EchoServer (%s): %s\n", o->server_path,
			strerror(-r));
		goto out;
	}
	res->have_hv = true;
#endif
#ifdef HAVE_DBUS
	if (use_dbus) {
		r = dbus_peer_start(o, &dbus);
		if (r < 0)
			fprintf(stderr, "ipc-bench: D-Bus comparison skipped: %s\n", strerror(-r));
		else
			res->have_dbus = true;
	}
#endif
	/* Latency: round trips, then the calls. */
	r = measure_rtt(o, raw, hv, dbus, res);
	if (r < 0) {
		fprintf(stderr, "ipc-bench: round trips failed: %s\n", strerror(-r));
		goto out;
	}
	/* Idle peers would only add noise to what follows. */
	dbus_peer_stop(dbus);
	dbus = NULL;
	raw_peer_stop(raw);
	raw = NULL;
#ifdef HAVE_HV
	const char *what = "small / 4 KiB / 64 MiB Buffer call";
	r = measure_calls(o, hv, res);
	if (r >= 0 && (what = "64 MiB bytes call"))
		r = hv_peer_bytes_call_ns(hv, BIG_SIZE, o->big_calls, &res->bytes_call);
	if (r < 0) {
		fprintf(stderr, "ipc-bench: Haven %s failed: %s\n", what, strerror(-r));
		goto out;
	}
	hv_peer_pin(hv, o->tput_pin);
#endif
	/* Throughput: the placement for a pipeline. */
	bench_pin_self(o->tput_pin, 0);
	r = measure_oneway(o, hv, res);
	if (r < 0)
		fprintf(stderr, "ipc-bench: one-way runs failed: %s\n", strerror(-r));
out:
	dbus_peer_stop(dbus);
	raw_peer_stop(raw);
	hv_peer_stop(hv);
	return r;
}

static void rmtree_tmp(const char *dir)
{
	char p[512];
	static const char *names[] = {"echo.sock", "dbus-socket", "dbus.conf"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_ROUNDS, OPT_MESSAGES, OPT_PIN, OPT_SERVER, OPT_NO_DBUS, OPT_QUICK,
	       OPT_ONEWAY };
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"rounds", required_argument, NULL, OPT_ROUNDS},
		{"messages", required_argument, NULL, OPT_MESSAGES},
		{"pin", required_argument, NULL, OPT_PIN},
		{"server", required_argument, NULL, OPT_SERVER},
		{"no-dbus", no_argument, NULL, OPT_NO_DBUS},
		{"quick", no_argument, NULL, OPT_QUICK},
		{"oneway", no_argument, NULL, OPT_ONEWAY},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	bench_opts o = {
		.rounds = 20000,
		.warmup = 2000,
		.oneway_msgs = 1000000,
		.big_calls = 5,
		.pin = BENCH_PIN_AUTO,
#ifdef HV_ECHO_SERVER_PATH
		.server_path = HV_ECHO_SERVER_PATH,
#endif
	};
	bool json = false, use_dbus = true, oneway_only = false;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_ROUNDS:
			if (parse_uint(optarg, 100, &o.rounds) < 0)
				goto bad;
			break;
		case OPT_MESSAGES:
			if (parse_uint(optarg, 1000, &o.oneway_msgs) < 0)
				goto bad;
			break;
		case OPT_PIN:
			if (!strcmp(optarg, "auto"))
				o.pin = BENCH_PIN_AUTO;
			else if (!strcmp(optarg, "none"))
				o.pin = BENCH_PIN_NONE;
			else if (!strcmp(optarg, "same"))
				o.pin = BENCH_PIN_SAME;
			else if (!strcmp(optarg, "split"))
				o.pin = BENCH_PIN_SPLIT;
			else
				goto bad;
			break;
		case OPT_SERVER:
			o.server_path = optarg;
			break;
		case OPT_NO_DBUS:
			use_dbus = false;
			break;
		case OPT_ONEWAY:
			oneway_only = true;
			break;
		case OPT_QUICK:
			o.rounds = 200;
			o.oneway_msgs = 2000;
			o.big_calls = 1;
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			goto bad;
		}
	}
	if (optind < argc)
		goto bad;
	o.warmup = o.rounds / 10 + 1;
	o.lat_pin = o.pin == BENCH_PIN_AUTO ? BENCH_PIN_SAME : o.pin;
	o.tput_pin = o.pin == BENCH_PIN_AUTO ? BENCH_PIN_SPLIT : o.pin;

	char tmpl[] = "/tmp/ipc-bench-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("ipc-bench: mkdtemp");
		return 1;
	}
	o.tmpdir = tmpl;
	/* A peer that dies must fail a write, not kill the bench. */
	signal(SIGPIPE, SIG_IGN);
	struct results res = {0};
	int r = oneway_only ? run_oneway(&o, json) : run(&o, use_dbus, &res);
	rmtree_tmp(tmpl);
	if (r < 0)
		return 1;
	if (oneway_only)
		return 0; /* run_oneway printed its figures */
	if (json)
		print_json(&res);
	else
		print_table(&o, &res);
	return 0;
bad:
	usage(stderr, argv[0]);
	return 2;
}
