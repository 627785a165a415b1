/* bench/sandbox/pledge-bench.c — what entering a pledge costs a freshly
 * forked process (ImageDecoder pledges in one new process per image).
 *
 * Three kinds of child, interleaved round by round so load on the machine
 * hits them alike:
 *   floor     fork, _exit, waitpid                         (the raw floor)
 *   pledge    fork, hv_pledge(PROMISES), _exit, waitpid    (what ships)
 *   libseccomp fork, the same rules compiled and loaded by libseccomp
 *             (seccomp_load, plus the 1024 name lookups the SIGSYS line
 *             needed): the way hv_pledge() worked before, as the peer
 * Each child times its own pledge with CLOCK_MONOTONIC and reports it
 * through a pipe; the parent times fork→reaped. Medians are printed, with
 * (pledge child)/(floor child) and libseccomp/pledge.
 *
 *   pledge-bench [--iterations N] [--promises "stdio recvfd sendfd"]
 */
#include <errno.h>
#include <getopt.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haven/sandbox.h"
#include "internal.h"

enum { K_FLOOR, K_PLEDGE, K_LIBSECCOMP, KINDS };
static const char *const kind_names[KINDS] = {"fork+exit (floor)", "fork+hv_pledge+exit", "fork+libseccomp+exit"};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The pre-emitter path, kept here only to measure against. */
static int pledge_libseccomp(const char *promises)
{
	uint64_t mask;
	int r = hv_promises_parse(promises, &mask);
	if (r < 0)
		return r;
	for (int nr = 0; nr < 1024; nr++)
		free(seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr));
	struct hv_filter_opts o = {.deny_action = SCMP_ACT_TRAP, .tsync = true, .self_pid = getpid()};
	scmp_filter_ctx ctx;
	if ((r = hv_filter_build(mask, &o, &ctx)) < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* One child of `kind`: returns the child's own pledge time in ns (0 for the
 * floor) and the parent's fork→reaped time in *total; -1 on failure. */
static int64_t one(int kind, const char *promises, uint64_t *total)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		uint64_t a = now_ns();
		int r = kind == K_PLEDGE ? hv_pledge(promises, NULL) : kind == K_LIBSECCOMP ? pledge_libseccomp(promises) : 0;
		uint64_t dt = now_ns() - a;
		if (kind == K_FLOOR)
			dt = 0;
		if (r < 0 || write(p[1], &dt, sizeof(dt)) != sizeof(dt))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	uint64_t dt = 0;
	ssize_t n = read(p[0], &dt, sizeof(dt));
	close(p[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*total = now_ns() - t0;
	if (n != sizeof(dt) || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	return (int64_t)dt;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pledge-bench [--iterations N] [--promises \"PROMISES\"]\n"
		   "Cost of hv_pledge() in a freshly forked process, against fork+exit\n"
		   "and against loading the same rules with libseccomp.\n");
}

int main(int argc, char **argv)
{
	long iters = 300;
	const char *promises = "stdio recvfd sendfd";
	static const struct option opts[] = {
		{"iterations", required_argument, NULL, 'n'},
		{"promises", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "n:p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			char *end;
			iters = strtol(optarg, &end, 10);
			if (*end || iters < 5 || iters > 1000000) {
				fprintf(stderr, "pledge-bench: bad --iterations \"%s\"\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		}
		case 'p':
			promises = optarg;
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
	if (hv_pledge_check(promises) < 0)
		return 2;

	uint64_t *total[KINDS], *inner[KINDS];
	for (int k = 0; k < KINDS; k++) {
		total[k] = calloc((size_t)iters, sizeof(uint64_t));
		inner[k] = calloc((size_t)iters, sizeof(uint64_t));
		if (!total[k] || !inner[k])
			return 1;
	}
	for (long i = 0; i < iters; i++)
		for (int k = 0; k < KINDS; k++) {
			int64_t dt = one(k, promises, &total[k][i]);
			if (dt < 0) {
				fprintf(stderr, "pledge-bench: a %s child failed\n", kind_names[k]);
				return 1;
			}
			inner[k][i] = (uint64_t)dt;
		}
	double t[KINDS], in[KINDS];
	for (int k = 0; k < KINDS; k++) {
		t[k] = median(total[k], (size_t)iters) / 1e3;
		in[k] = median(inner[k], (size_t)iters) / 1e3;
	}
	printf("promises \"%s\", %ld children of each kind, medians\n", promises, iters);
	for (int k = 0; k < KINDS; k++)
		printf("  %-24s %8.1f us per child   (pledge inside the child: %7.1f us)\n", kind_names[k], t[k], in[k]);
	printf("hv_pledge in a fresh process: %.1f us; child pledge/floor = %.2f\n", in[K_PLEDGE],
	       t[K_PLEDGE] / t[K_FLOOR]);
	printf("libseccomp path: %.1f us; libseccomp/hv_pledge = %.1fx; child libseccomp/floor = %.2f\n",
	       in[K_LIBSECCOMP], in[K_LIBSECCOMP] / in[K_PLEDGE], t[K_LIBSECCOMP] / t[K_FLOOR]);
	for (int k = 0; k < KINDS; k++) {
		free(total[k]);
		free(inner[k]);
	}
	return 0;
}
