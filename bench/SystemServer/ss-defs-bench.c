/* bench/SystemServer/ss-defs-bench.c — what definitions that never start
 * cost SystemServer (issue #13, "definitions cost little"):
 *
 *  1. heap per Lazy definition never started: mallinfo2() around the
 *     manager's boot (parse, units, sockets) of N definitions, minus the
 *     same boot with one definition, divided by N - 1; target <= 4 KiB;
 *  2. boot until the N sockets listen against the floor, this program
 *     creating the same N sockets itself (socket, bind, listen), same run,
 *     interleaved rounds, medians; target <= 2x.
 *
 * The manager runs in this process (libsystemserver, as the fuzzer and
 * tests/SystemServer use it), in user mode on a temporary runtime dir.
 *
 *   ss-defs-bench [--services N] [--rounds R]
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>

#include "manager.h"

static char tmp[64];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void die(const char *what)
{
	fprintf(stderr, "ss-defs-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_defs(const char *dir, int count)
{
	mkdir(dir, 0700);
	char path[160];
	snprintf(path, sizeof path, "%s/defs.ini", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		die("write definitions");
	for (int i = 0; i < count; i++)
		fprintf(f, "[Lazy%d]\nExecutable=/bin/true\nSocket=lazy%d\nLazy=true\n\n", i, i);
	fclose(f);
}

/* Boot a manager on count definitions: heap bytes it holds afterwards and
 * the boot's duration (every socket listens when it returns). */
static void boot(int count, int round, size_t *heap, double *ms)
{
	char cfg[128], rt[128];
	snprintf(cfg, sizeof cfg, "%s/defs%d", tmp, count);
	snprintf(rt, sizeof rt, "%s/rt%d-%d", tmp, count, round);
	hv_loop *loop = NULL;
	if (hv_loop_new(&loop) < 0)
		die("loop");
	ss_manager_opts o = {.user_mode = true, .config = cfg, .runtime_dir = rt, .service_path = ""};
	size_t before = mallinfo2().uordblks;
	double t0 = now_ms();
	ss_manager *m = NULL;
	if (ss_manager_new(loop, &o, &m) < 0 || ss_manager_boot(m) < 0)
		die("manager boot");
	*ms = now_ms() - t0;
	*heap = mallinfo2().uordblks - before;
	if (ss_manager_unit_count(m) != (size_t)count) {
		fprintf(stderr, "ss-defs-bench: %zu units, expected %d\n", ss_manager_unit_count(m), count);
		exit(1);
	}
	hv_loop_run_once(loop, 0); /* the scheduler's deferred pass, while m exists */
	ss_manager_free(m);
	hv_loop_free(loop);
}

static double sockets_floor(int count, int round)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/floor%d", tmp, round);
	mkdir(dir, 0700);
	int *fds = calloc((size_t)count, sizeof(int));
	double t0 = now_ms();
	for (int i = 0; i < count; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%.80s/s%d", dir, i);
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fds[i], 128) < 0)
			die("floor socket");
	}
	double t = now_ms() - t0;
	for (int i = 0; i < count; i++)
		close(fds[i]);
	free(fds);
	return t;
}

int main(int argc, char **argv)
{
	int count = 1000, rounds = 7;
	static const struct option opts[] = {
		{"services", required_argument, NULL, 's'},
		{"rounds", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	for (int c; (c = getopt_long(argc, argv, "h", opts, NULL)) != -1;) {
		switch (c) {
		case 's': count = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'h':
			puts("Usage: ss-defs-bench [--services N] [--rounds R]\n"
			     "Heap per never-started definition and socket readiness of N Lazy definitions.");
			return 0;
		default:
			fputs("Usage: ss-defs-bench [--services N] [--rounds R]\n", stderr);
			return 2;
		}
	}
	if (optind < argc || count < 2 || count > 5000 || rounds < 1 || rounds > 100) {
		fputs("Usage: ss-defs-bench [--services N] [--rounds R]\n", stderr);
		return 2;
	}
	hv_log_set_level(HV_LOG_ERROR);
	strcpy(tmp, "/tmp/ss-defs-bench-XXXXXX");
	if (!mkdtemp(tmp))
		die("mkdtemp");
	char dir[128];
	snprintf(dir, sizeof dir, "%s/defs%d", tmp, count);
	write_defs(dir, count);
	snprintf(dir, sizeof dir, "%s/defs1", tmp);
	write_defs(dir, 1);

	double *t = calloc((size_t)rounds, sizeof(double)), *f = calloc((size_t)rounds, sizeof(double));
	size_t heap_n = 0, heap_1 = 0;
	double one;
	boot(1, 0, &heap_1, &one); /* warm: the allocator's arenas, the loop */
	for (int r = 0; r < rounds; r++) {
		size_t h;
		if (r % 2) {
			f[r] = sockets_floor(count, r);
			boot(count, r, &h, &t[r]);
		} else {
			boot(count, r, &h, &t[r]);
			f[r] = sockets_floor(count, r);
		}
		heap_n = h;
		boot(1, r + 1000, &heap_1, &one);
	}
	qsort(t, (size_t)rounds, sizeof *t, cmp_double);
	qsort(f, (size_t)rounds, sizeof *f, cmp_double);
	double per = (double)(heap_n - heap_1) / (count - 1);
	printf("ss-defs-bench: %d Lazy definitions, never started, manager in-process, %d interleaved rounds\n", count,
	       rounds);
	printf("heap per definition: %.0f bytes (%zu with %d, %zu with 1) (target <= 4096)\n", per, heap_n, count,
	       heap_1);
	printf("boot until every socket listens: %.2f ms; floor (the %d sockets by this program) %.2f ms; "
	       "ratio %.2f (target <= 2) [median]\n", t[rounds / 2], count, f[rounds / 2], t[rounds / 2] / f[rounds / 2]);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	free(t);
	free(f);
	return system(cmd) == 0 ? 0 : 1;
}
