/* bench/sandbox/sandbox-bench.c — what a pledge costs per system call.
 *
 * Runs the same syscall-heavy loops in long-lived children: unconfined
 * (the floor), under a filter that allows everything (what the kernel
 * charges for having any seccomp filter at all: the floor for filters),
 * under libseccomp's compilation of the same rules (its binary-tree
 * layout: the peer for the emitter), and under hv_pledge("stdio rpath")
 * (the typical service pledge; lib/sandbox/bpf.c's program). Bursts of the
 * four alternate for many rounds; the median (and best) burst of each is
 * reported. Calls the filter allows whatever their arguments (getppid,
 * read) are answered by the kernel's per-call seccomp cache, so only the
 * argument-checked ones (fcntl, ioctl) run the BPF program.
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
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"

enum { LOOP_GETPPID, LOOP_READ, LOOP_FCNTL, LOOP_IOCTL, LOOPS };
static const char *const loop_names[LOOPS] = {
	"getppid()",
	"read(/dev/zero, 64 bytes)",
	"fcntl(F_GETFL) (argument-checked)",
	"ioctl(FIONREAD) (argument-checked)",
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
		case LOOP_FCNTL:
			if (fcntl(zero, F_GETFL) < 0)
				_exit(3);
			break;
		default: {
			int n;
			if (ioctl(zero, FIONREAD, &n) < 0 && errno != ENOTTY && errno != EINVAL)
				_exit(3);
			break;
		}
		}
	}
	return (double)(now_ns() - t0) / (double)iters;
}

enum { RAW, PEER, LIBSECCOMP, PLEDGED, CONFIGS };
static const char *const config_names[CONFIGS] = {"raw", "allow-all", "libseccomp", "pledged"};
#define PROMISES "stdio rpath"

static int confine(int config)
{
	if (config == PLEDGED)
		return hv_pledge(PROMISES, NULL);
	if (config == PEER || config == LIBSECCOMP) {
		scmp_filter_ctx ctx = NULL;
		uint64_t mask;
		struct hv_filter_opts o = {.deny_action = SCMP_ACT_KILL_PROCESS, .self_pid = getpid()};
		int r = config == PEER ? ((ctx = seccomp_init(SCMP_ACT_ALLOW)) ? 0 : -ENOMEM)
				       : hv_promises_parse(PROMISES, &mask);
		if (r >= 0 && config == LIBSECCOMP)
			r = hv_filter_build(mask, &o, &ctx);
		if (r < 0)
			return r;
		r = seccomp_load(ctx);
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

/* --- path lengths: instructions the program runs per call ---------------- */

struct prog {
	struct sock_filter *v;
	size_t n;
};

static int export_libseccomp(uint64_t mask, const struct hv_filter_opts *o, struct prog *out)
{
	scmp_filter_ctx ctx;
	int r = hv_filter_build(mask, o, &ctx);
	if (r < 0)
		return r;
	int fd = memfd_create("bpf", MFD_CLOEXEC);
	r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	off_t len = r < 0 ? -1 : lseek(fd, 0, SEEK_END);
	out->v = len > 0 ? malloc((size_t)len) : NULL;
	out->n = len > 0 ? (size_t)len / sizeof(*out->v) : 0;
	if (out->v && pread(fd, out->v, (size_t)len, 0) != len)
		r = -EIO;
	if (fd >= 0)
		close(fd);
	return r < 0 ? r : out->v ? 0 : -ENOMEM;
}

/* The typical calls a pledged service makes that the kernel's cache
 * cannot answer (argument-checked or refused), and two it can. */
static void path_lengths(void)
{
	uint64_t mask;
	struct hv_filter_opts o = {.deny_action = SCMP_ACT_KILL_PROCESS, .self_pid = 4242};
	struct hv_rules rules;
	struct hv_bpf mine = {0};
	struct prog ref = {0};
	if (hv_promises_parse(PROMISES, &mask) < 0 || hv_filter_rules(mask, &o, &rules) < 0)
		return;
	int r = hv_bpf_compile(&rules, o.deny_action, &mine);
	hv_rules_free(&rules);
	if (r < 0 || export_libseccomp(mask, &o, &ref) < 0) {
		hv_bpf_free(&mine);
		free(ref.v);
		return;
	}
	struct call {
		const char *what, *name;
		uint64_t a[4];
	} calls[] = {
		{"fcntl(F_GETFL)", "fcntl", {0, F_GETFL}},
		{"fcntl(F_SETFL)", "fcntl", {0, F_SETFL}},
		{"ioctl(FIONREAD)", "ioctl", {0, FIONREAD}},
		{"ioctl(FIONBIO)", "ioctl", {0, FIONBIO}},
		{"mmap(PROT_READ|PROT_WRITE)", "mmap", {0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS}},
		{"mprotect(PROT_READ)", "mprotect", {0, 4096, PROT_READ}},
		{"openat(O_RDONLY)", "openat", {0, 0, O_RDONLY}},
		{"sendto(no address)", "sendto", {0, 0, 0, 0}},
		{"prctl(PR_SET_NAME)", "prctl", {PR_SET_NAME}},
		{"clone3 (ENOSYS)", "clone3", {0}},
		{"getppid (cached)", "getppid", {0}},
		{"epoll_wait (cached)", "epoll_wait", {0}},
	};
	unsigned tm = 0, tr = 0, nc = 0;
	printf("%-30s %9s %11s   (instructions run; \"" PROMISES "\": %zu vs %zu in all)\n", "path length", "emitted",
	       "libseccomp", mine.n, ref.n);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		int nr = hv_syscall_nr(calls[i].name);
		if (nr < 0)
			continue;
		struct seccomp_data d = {.nr = nr, .arch = seccomp_arch_native()};
		for (int k = 0; k < 4; k++)
			d.args[k] = calls[i].a[k];
		unsigned sm = 0, sr = 0;
		uint32_t am = hv_bpf_run(mine.insns, mine.n, &d, &sm), ar = hv_bpf_run(ref.v, ref.n, &d, &sr);
		printf("%-30s %9u %11u%s\n", calls[i].what, sm, sr, am == ar ? "" : "   (answers differ!)");
		if (!strstr(calls[i].what, "cached")) {
			tm += sm;
			tr += sr;
			nc++;
		}
	}
	printf("the %u calls the program runs for: %u vs %u instructions, ratio %.2f\n", nc, tm, tr,
	       tr ? (double)tm / tr : 0);
	hv_bpf_free(&mine);
	free(ref.v);
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return (a > b) - (a < b);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: sandbox-bench [--iterations N] [--rounds R]\n"
		   "Per-syscall cost of hv_pledge(\"" PROMISES "\") against the unconfined floor.\n");
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

	path_lengths();
	double best[CONFIGS][LOOPS];
	double *all[CONFIGS][LOOPS];
	struct worker w[CONFIGS];
	for (int k = 0; k < CONFIGS; k++) {
		if (worker_start(k, iters, &w[k]) < 0)
			return 1;
		for (int l = 0; l < LOOPS; l++) {
			best[k][l] = 1e30;
			if (!(all[k][l] = calloc((size_t)rounds, sizeof(double))))
				return 1;
		}
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
				all[k][l][i] = ns;
			}
	for (int k = 0; k < CONFIGS; k++)
		worker_stop(&w[k]);

	double med[CONFIGS][LOOPS];
	for (int k = 0; k < CONFIGS; k++)
		for (int l = 0; l < LOOPS; l++) {
			qsort(all[k][l], (size_t)rounds, sizeof(double), cmp_double);
			med[k][l] = all[k][l][rounds / 2];
			free(all[k][l]);
		}
	printf("sandbox-bench: bursts of %lld calls x %lld rounds, interleaved; pledge \"" PROMISES "\"\n",
	       (long long)iters, (long long)rounds);
	printf("%-36s %9s %9s %10s %9s %7s %7s %7s\n", "loop (median ns/op)", config_names[RAW], config_names[PEER],
	       config_names[LIBSECCOMP], config_names[PLEDGED], "/raw", "/allow", "/libsec");
	for (int l = 0; l < LOOPS; l++)
		printf("%-36s %9.1f %9.1f %10.1f %9.1f %7.3f %7.3f %7.3f\n", loop_names[l], med[RAW][l], med[PEER][l],
		       med[LIBSECCOMP][l], med[PLEDGED][l], med[PLEDGED][l] / med[RAW][l],
		       med[PLEDGED][l] / med[PEER][l], med[PLEDGED][l] / med[LIBSECCOMP][l]);
	double sum[CONFIGS] = {0}, bsum[CONFIGS] = {0};
	for (int k = 0; k < CONFIGS; k++)
		for (int l = 0; l < LOOPS; l++) {
			sum[k] += med[k][l];
			bsum[k] += best[k][l];
		}
	printf("all four loops, median: pledged/raw %.3f (target <= 1.05), allow-all/raw %.3f (any filter's floor)\n",
	       sum[PLEDGED] / sum[RAW], sum[PEER] / sum[RAW]);
	printf("all four loops, median: pledged/allow-all %.3f (what the promises add), pledged/libseccomp %.3f\n",
	       sum[PLEDGED] / sum[PEER], sum[PLEDGED] / sum[LIBSECCOMP]);
	printf("all four loops, best:   pledged/raw %.3f, allow-all/raw %.3f, pledged/libseccomp %.3f\n",
	       bsum[PLEDGED] / bsum[RAW], bsum[PEER] / bsum[RAW], bsum[PLEDGED] / bsum[LIBSECCOMP]);
	return 0;
}
