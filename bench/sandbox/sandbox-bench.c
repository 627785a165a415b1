/* bench/sandbox/sandbox-bench.c — what a pledge costs per system call.
 *
 * Runs the same syscall-heavy loops in forked children: unconfined (the
 * floor), under a filter that allows everything (the peer: what the kernel
 * charges for having any seccomp filter at all), and under
 * hv_pledge("stdio rpath"). The three alternate for several rounds; each
 * keeps its best round. Prints pledged/raw (the target) and pledged/peer
 * (what our filter's content adds). Calls the filter allows whatever their
 * arguments (getppid, read) are answered by the kernel's per-syscall
 * seccomp cache; argument-checked calls (fcntl) run the BPF program.
 *
 *   sandbox-bench [--iterations N] [--rounds R]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"

enum { LOOP_GETPPID, LOOP_READ, LOOP_FCNTL, LOOPS };
static const char *const loop_names[LOOPS] = {
	"getppid()",
	"read(/dev/zero, 64 bytes)",
	"fcntl(F_GETFL) (argument-checked)",
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double run_loop(int which, long iters, int zero)
{
	char buf[64];
	uint64_t t0 = now_ns();
	for (long i = 0; i < iters; i++) {
		switch (which) {
		case LOOP_GETPPID:
			(void)getppid();
			break;
		case LOOP_READ:
			if (read(zero, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				_exit(3);
			break;
		default:
			if (fcntl(zero, F_GETFL) < 0)
				_exit(3);
			break;
		}
	}
	return (double)(now_ns() - t0) / (double)iters;
}

enum { RAW, PEER, PLEDGED, CONFIGS };
static const char *const config_names[CONFIGS] = {"raw", "allow-all", "pledged"};

static int confine(int config)
{
	if (config == PLEDGED)
		return hv_pledge("stdio rpath", NULL);
	if (config == PEER) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
		if (!ctx)
			return -ENOMEM;
		int r = seccomp_load(ctx);
		seccomp_release(ctx);
		return r;
	}
	return 0;
}

/* A worker: one process per configuration, alive for the whole run, so
 * bursts of the three can be interleaved finely (load drift then hurts all
 * alike) and the best burst of each kept. Commands: a loop number; answer:
 * ns/op as a double. */
struct worker {
	pid_t pid;
	int cmd, res;
};

static int worker_start(int config, long iters, struct worker *w)
{
	int c[2], r[2];
	if (pipe2(c, O_CLOEXEC) < 0 || pipe2(r, O_CLOEXEC) < 0)
		return -errno;
	w->pid = fork();
	if (w->pid < 0)
		return -errno;
	if (w->pid == 0) {
		close(c[1]);
		close(r[0]);
		int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (zero < 0 || confine(config) < 0)
			_exit(4);
		unsigned char l;
		while (read(c[0], &l, 1) == 1 && l < LOOPS) {
			double ns = run_loop(l, iters, zero);
			if (hv_write_full(r[1], &ns, sizeof(ns)) < 0)
				_exit(5);
		}
		_exit(0);
	}
	close(c[0]);
	close(r[1]);
	w->cmd = c[1];
	w->res = r[0];
	return 0;
}

static int worker_run(struct worker *w, int loop, double *ns)
{
	unsigned char l = (unsigned char)loop;
	int r = hv_write_full(w->cmd, &l, 1);
	if (r >= 0)
		r = hv_read_full(w->res, ns, sizeof(*ns));
	if (r < 0)
		return hv_log_errno(r, "benchmark worker failed");
	return 0;
}

static void worker_stop(struct worker *w)
{
	/* Explicit stop: later workers hold copies of this pipe's write end. */
	unsigned char stop = 0xff;
	(void)hv_write_full(w->cmd, &stop, 1);
	close(w->cmd);
	close(w->res);
	waitpid(w->pid, NULL, 0);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: sandbox-bench [--iterations N] [--rounds R]\n"
		   "Per-syscall cost of hv_pledge(\"stdio rpath\") against the unconfined floor.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"iterations", required_argument, NULL, 'n'},
		{"rounds", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int64_t iters = 20000, rounds = 200;
	int c;
	while ((c = getopt_long(argc, argv, "n:r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (hv_parse_i64(optarg, 1000, INT64_C(1) << 32, &iters) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'r':
			if (hv_parse_i64(optarg, 1, 1000, &rounds) < 0) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	double best[CONFIGS][LOOPS];
	struct worker w[CONFIGS];
	for (int k = 0; k < CONFIGS; k++) {
		if (worker_start(k, iters, &w[k]) < 0)
			return 1;
		for (int l = 0; l < LOOPS; l++)
			best[k][l] = 1e30;
	}
	for (int64_t i = 0; i < rounds; i++)
		for (int l = 0; l < LOOPS; l++)
			/* Rotate which configuration goes first. */
			for (int j = 0; j < CONFIGS; j++) {
				int k = (int)((i + j) % CONFIGS);
				double ns;
				if (worker_run(&w[k], l, &ns) < 0)
					return 1;
				best[k][l] = HV_MIN(best[k][l], ns);
			}
	for (int k = 0; k < CONFIGS; k++)
		worker_stop(&w[k]);

	printf("sandbox-bench: bursts of %lld calls x %lld rounds, interleaved, best burst each; pledge \"stdio rpath\"\n",
	       (long long)iters, (long long)rounds);
	printf("%-36s %10s %10s %10s %8s\n", "loop (ns/op)", config_names[RAW], config_names[PEER],
	       config_names[PLEDGED], "ratio");
	for (int l = 0; l < LOOPS; l++)
		printf("%-36s %10.1f %10.1f %10.1f %8.3f\n", loop_names[l], best[RAW][l], best[PEER][l],
		       best[PLEDGED][l], best[PLEDGED][l] / best[RAW][l]);
	double raw = best[RAW][LOOP_GETPPID] + best[RAW][LOOP_READ];
	double peer = best[PEER][LOOP_GETPPID] + best[PEER][LOOP_READ];
	double pledged = best[PLEDGED][LOOP_GETPPID] + best[PLEDGED][LOOP_READ];
	printf("ratio pledged/raw (getppid + read): %.3f (target <= 1.10)\n", pledged / raw);
	printf("ratio pledged/allow-all filter:     %.3f (the cost of the promises themselves)\n", pledged / peer);
	return 0;
}
