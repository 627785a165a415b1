/* systemserver-bench — what SystemServer costs, each figure next to the
 * floor measured in the same run:
 *
 *  1. connect-to-first-reply of an accept-per-connection EchoServer under
 *     SystemServer vs fork+exec of the same binary on a socketpair done
 *     directly (LISTEN_FDS=1) — ratio, target <= 1.5;
 *  2. manager start until 100 lazy services' sockets accept (target
 *     < 50 ms) vs creating the 100 sockets in-process;
 *  3. manager start until 100 eager trivial services reported READY=1 vs
 *     spawning them directly and waiting for the same 100 READY=1;
 *  4. SystemServer's RSS with 100 services running (target < 4 MiB).
 *
 * Medians over repeated, interleaved runs. Paths of the programs come from
 * the build (see meson.build).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "EchoServer.ipc.h"

static char tmp[64];
static const char *manager_bin = SS_BIN; /* --manager: compare another build */
static int notify_fd = -1;
static char notify_path[128];
static char manager_log[160]; /* the first-reply manager's log (debug) */
static int cmp_double(const void *a, const void *b);

/* Median of "NAME: started pid N (X us from decision to exec)" in the log. */
static double decision_to_exec_us(const char *name)
{
	FILE *f = fopen(manager_log, "r");
	char line[512], want[96];
	double v[4096];
	int n = 0;
	snprintf(want, sizeof want, "%s: started pid", name);
	while (f && n < 4096 && fgets(line, sizeof line, f)) {
		const char *p = strstr(line, want), *q = p ? strstr(p, " (") : NULL;
		if (q && strstr(q, "us from decision to exec"))
			v[n++] = atof(q + 2);
	}
	if (f)
		fclose(f);
	return n ? (qsort(v, (size_t)n, sizeof *v, cmp_double), v[n / 2]) : -1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "systemserver-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_defs(const char *dir, const char *fmt_section, int count, const char *extra)
{
	mkdir(dir, 0700);
	char path[256];
	snprintf(path, sizeof path, "%s/defs.ini", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		die("write definitions");
	for (int i = 0; i < count; i++) {
		fprintf(f, fmt_section, i, i);
		fprintf(f, "%s\n", extra);
	}
	fclose(f);
}

/* Wait for `want` READY=1 datagrams on our notify socket. */
static int wait_ready(int want)
{
	int got = 0;
	while (got < want) {
		struct pollfd p = {notify_fd, POLLIN, 0};
		if (poll(&p, 1, 60000) <= 0)
			return -ETIMEDOUT;
		char buf[512];
		ssize_t n = recv(notify_fd, buf, sizeof buf - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "READY=1"))
			got++;
	}
	return 0;
}

static pid_t start_manager(const char *config, const char *rt)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		int log = manager_log[0] ? open(manager_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
		dup2(null, 1);
		dup2(log >= 0 ? log : null, 2);
		setenv("NOTIFY_SOCKET", notify_path, 1);
		/* debug: the manager logs each instance's decision-to-exec time */
		setenv("HAVEN_LOG", log >= 0 ? "debug" : "warn", 1);
		execl(manager_bin, manager_bin, "--user", "--runtime-dir", rt, "--config", config, (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_manager(pid_t pid)
{
	kill(pid, SIGTERM);
	int st;
	waitpid(pid, &st, 0);
}

/* --- 1: first reply ------------------------------------------------------------ */

static double echo_once(hv_conn *c)
{
	const char *out = NULL;
	int r = echo_server_echo(c, "x", &out);
	if (r < 0 || !out || strcmp(out, "x") != 0) {
		fprintf(stderr, "systemserver-bench: echo failed: %s\n", strerror(-r));
		exit(1);
	}
	return 0;
}

static double via_manager(const char *portal)
{
	double t0 = now_ms();
	hv_conn *c = NULL;
	int r = hv_conn_connect(NULL, portal, &c);
	if (r < 0) {
		fprintf(stderr, "systemserver-bench: connect %s: %s\n", portal, strerror(-r));
		exit(1);
	}
	echo_once(c);
	double t = now_ms() - t0;
	hv_conn_close(c);
	return t;
}

static double direct_spawn(void)
{
	double t0 = now_ms();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(sv[1], 3);
		char buf[16];
		snprintf(buf, sizeof buf, "%d", (int)getpid());
		setenv("LISTEN_PID", buf, 1);
		setenv("LISTEN_FDS", "1", 1);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 1);
		dup2(null, 2);
		execl(ECHO_BIN, ECHO_BIN, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	hv_conn *c = NULL;
	if (hv_conn_from_fd(NULL, sv[0], &c) < 0)
		die("hv_conn_from_fd");
	echo_once(c);
	double t = now_ms() - t0;
	hv_conn_close(c);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return t;
}

/* A per-connection EchoServer leaves with its client: wait (untimed) until
 * only the spares are left, so every run starts with the same number of
 * processes, as direct_spawn() reaps its own. */
static int count_children(pid_t parent);
static void wait_instances_gone(pid_t parent, int keep)
{
	for (int k = 0; k < 10000 && count_children(parent) > keep; k++)
		usleep(100);
}

static int count_children(pid_t parent)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
	FILE *f = fopen(path, "r");
	int n = 0, pid;
	while (f && fscanf(f, "%d", &pid) == 1)
		n++;
	if (f)
		fclose(f);
	return n;
}

/* The waiting spares' memory and CPU: the manager's children (the only
 * ones left between runs are spares). */
static long spare_rss_kib;
static double spare_cpu_ms;
static long rss_kib(pid_t pid);
static void measure_spares(pid_t parent, int want)
{
	wait_instances_gone(parent, want);
	usleep(200000); /* past their start-up */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
	FILE *f = fopen(path, "r");
	int pid, n = 0;
	long rss = 0;
	double cpu = 0;
	while (f && fscanf(f, "%d", &pid) == 1) {
		char sp[64], buf[1024];
		snprintf(sp, sizeof sp, "/proc/%d/stat", pid);
		FILE *st = fopen(sp, "r");
		size_t len = st ? fread(buf, 1, sizeof buf - 1, st) : 0;
		if (st)
			fclose(st);
		buf[len] = '\0';
		char *rp = strrchr(buf, ')');
		unsigned long ut = 0, stime = 0;
		if (rp && sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stime) == 2)
			cpu += (double)(ut + stime) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
		rss += rss_kib(pid);
		n++;
	}
	if (f)
		fclose(f);
	spare_rss_kib = n ? rss / n : 0;
	spare_cpu_ms = n ? cpu / n : 0;
}

static void end_children_of(pid_t parent) __attribute__((unused));
static void end_children_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t kids[256];
	int n = 0;
	while (d && (e = readdir(d)) && n < 256) {
		char path[300], buf[512];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *rp = strrchr(buf, ')');
		int ppid = 0;
		if (rp && sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == parent)
			kids[n++] = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGTERM);
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/%d", (int)kids[i]);
		for (int k = 0; k < 5000 && access(path, F_OK) == 0; k++)
			usleep(200); /* reaped by the manager */
	}
}

/* --- 2: sockets ---------------------------------------------------------------- */

static double sockets_floor(int count)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/floor", tmp);
	mkdir(dir, 0700);
	int *fds = calloc((size_t)count, sizeof(int));
	double t0 = now_ms();
	for (int i = 0; i < count; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%.80s/s%d", dir, i);
		unlink(sa.sun_path);
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

static bool all_accept(const char *rt, int count)
{
	for (int i = 0; i < count; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%.80s/portal/lazy%d", rt, i);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (r < 0)
			return false;
	}
	return true;
}

/* --- 3: eager services ----------------------------------------------------------- */

static double spawn_floor(int count)
{
	pid_t *pids = calloc((size_t)count, sizeof(pid_t));
	double t0 = now_ms();
	for (int i = 0; i < count; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			setenv("NOTIFY_SOCKET", notify_path, 1);
			execl(TESTD_BIN, TESTD_BIN, "--notify", (char *)NULL);
			_exit(127);
		}
	}
	if (wait_ready(count) < 0)
		die("direct services never ready");
	double t = now_ms() - t0;
	for (int i = 0; i < count; i++)
		kill(pids[i], SIGTERM);
	for (int i = 0; i < count; i++)
		waitpid(pids[i], NULL, 0);
	free(pids);
	return t;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

int main(int argc, char **argv)
{
	int iters = 100, count = 100, rounds = 5, spares = 0;
	static const struct option opts[] = {
		{"iterations", required_argument, NULL, 'i'},
		{"services", required_argument, NULL, 's'},
		{"rounds", required_argument, NULL, 'r'},
		{"manager", required_argument, NULL, 'm'},
		{"spares", required_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': iters = atoi(optarg); break;
		case 's': count = atoi(optarg); break;
		case 'r': rounds = atoi(optarg); break;
		case 'm': manager_bin = optarg; break;
		case 'p': spares = atoi(optarg); break;
		case 'h':
			puts("Usage: systemserver-bench [--iterations N] [--services N] [--rounds N] [--manager PATH]\n"
			     "Measure SystemServer against the direct-spawn floor (see the source).\n"
			     "--manager runs another SystemServer binary (e.g. an older build) instead of\n"
			     "this build's, to compare them on the same floor.");
			return 0;
		default:
			fputs("Usage: systemserver-bench [--iterations N] [--services N] [--rounds N] [--manager PATH]\n",
			      stderr);
			return 2;
		}
	}
	if (optind < argc || access(manager_bin, X_OK) < 0) {
		fprintf(stderr, "systemserver-bench: bad argument (--manager must be an executable)\n");
		return 2;
	}
	if (iters < 1 || count < 1 || rounds < 1 || iters > 100000 || count > 2000 || rounds > 100) {
		fprintf(stderr, "systemserver-bench: bad argument\n");
		return 2;
	}
	hv_log_set_level(HV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	strcpy(tmp, "/tmp/ss-bench-XXXXXX");
	if (!mkdtemp(tmp))
		die("mkdtemp");
	snprintf(notify_path, sizeof notify_path, "%s/notify", tmp);
	notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, notify_path);
	if (bind(notify_fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind notify");
	char cfg[128], rt[128];

	/* 1. first reply: a plain per-connection EchoServer, the same pledged
	 * and unveiled (its shipped promises), and the same with warm spares,
	 * each through one manager, interleaved with the direct floor. */
	snprintf(cfg, sizeof cfg, "%s/accept", tmp);
	snprintf(rt, sizeof rt, "%s/rt-accept", tmp);
	mkdir(cfg, 0700);
	char defs[256];
	snprintf(defs, sizeof defs, "%s/defs.ini", cfg);
	FILE *df = fopen(defs, "w");
	if (!df)
		die("write definitions");
	const char *common = "Executable=" ECHO_BIN "\nAcceptSocketConnections=true\nStdIO=null\n";
	const char *sandbox = "Pledge=stdio rpath recvfd sendfd accept\n";
	fprintf(df, "[EchoAccept]\nSocket=echo\n%s\n", common);
	fprintf(df, "[EchoSandboxed]\nSocket=echo-sb\n%s%sUnveil=%s:r\n\n", common, sandbox, tmp);
	if (spares)
		fprintf(df, "[EchoSpare]\nSocket=echo-spare\n%s%sUnveil=%s:r\nSpareInstances=%d\n", common,
			sandbox, tmp, spares);
	fclose(df);
	snprintf(manager_log, sizeof manager_log, "%s/manager.log", tmp);
	pid_t m = start_manager(cfg, rt);
	manager_log[0] = '\0'; /* the other managers log nothing */
	if (wait_ready(1) < 0)
		die("manager never ready");
	enum { PLAIN, SANDBOXED, SPARE, DIRECT, KINDS };
	static const char *const kind_names[KINDS] = {"plain", "pledged+unveiled", "pledged+unveiled, spares",
						      "direct fork+exec"};
	static const char *const sockets[SPARE + 1] = {"echo", "echo-sb", "echo-spare"};
	char portals[SPARE + 1][192];
	for (int k = 0; k <= SPARE; k++)
		snprintf(portals[k], sizeof portals[k], "%s/portal/%s", rt, sockets[k]);
	double *t[KINDS];
	for (int k = 0; k < KINDS; k++)
		t[k] = calloc((size_t)iters, sizeof(double));
	int kinds = spares ? KINDS : KINDS - 1;
	for (int k = 0; k <= SPARE; k++) /* warm caches on every path */
		if (k != SPARE || spares)
			via_manager(portals[k]);
	direct_spawn();
	for (int i = 0; i < iters; i++)
		for (int j = 0; j < KINDS; j++) {
			int k = (i + j) % KINDS;
			if (k == SPARE && !spares)
				continue;
			if (k == DIRECT) {
				t[k][i] = direct_spawn();
				continue;
			}
			t[k][i] = via_manager(portals[k]);
			wait_instances_gone(m, spares);
		}
	if (spares)
		measure_spares(m, spares);
	stop_manager(m);
	(void)kinds;
	double med[KINDS], best[KINDS];
	for (int k = 0; k < KINDS; k++) {
		if (k == SPARE && !spares)
			continue;
		med[k] = median(t[k], iters);
		best[k] = t[k][0]; /* sorted by median() */
	}
	/* Medians carry the machine's load; minimums show the cost itself. */
	printf("first reply, accept-per-connection EchoServer [median of %d, interleaved], against a direct "
	       "fork+exec without sandbox (%.3f ms, best %.3f):\n", iters, med[DIRECT], best[DIRECT]);
	for (int k = 0; k < DIRECT; k++) {
		if (k == SPARE && !spares)
			continue;
		printf("  %-26s %.3f ms, ratio %.2f%s; best %.3f ms, ratio %.2f\n", kind_names[k], med[k],
		       med[k] / med[DIRECT],
		       k == PLAIN ? " (target <= 1.5)" : k == SANDBOXED ? " (target <= 1.1)" : " (target <= 0.5)",
		       best[k], best[k] / best[DIRECT]);
	}
	for (int k = 0; k < KINDS; k++)
		free(t[k]);
	snprintf(manager_log, sizeof manager_log, "%s/manager.log", tmp);
	printf("  in the manager, decision to exec (median, its log): plain %.0f us, pledged+unveiled %.0f us\n",
	       decision_to_exec_us("EchoAccept"), decision_to_exec_us("EchoSandboxed"));
	if (spares)
		printf("  idle spares (%d, waiting EchoServers): %ld KiB RSS each, %.2f ms CPU each over the run "
		       "(start-up included; in clock ticks of %ld ms)\n", spares, spare_rss_kib, spare_cpu_ms, 1000 / sysconf(_SC_CLK_TCK));
	manager_log[0] = '\0';

	/* 2. lazy sockets */
	snprintf(cfg, sizeof cfg, "%s/lazy", tmp);
	write_defs(cfg, "[Lazy%d]\nSocket=lazy%d\n", count, "Executable=" TESTD_BIN "\nLazy=true");
	double *l = calloc((size_t)rounds, sizeof(double)), *lf = calloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds; r++) {
		snprintf(rt, sizeof rt, "%s/rt-lazy%d", tmp, r);
		double t0 = now_ms();
		m = start_manager(cfg, rt);
		if (wait_ready(1) < 0)
			die("manager never ready");
		l[r] = now_ms() - t0;
		if (!all_accept(rt, count)) {
			fprintf(stderr, "systemserver-bench: a lazy socket does not accept\n");
			return 1;
		}
		stop_manager(m);
		lf[r] = sockets_floor(count);
	}
	double ml = median(l, rounds), mlf = median(lf, rounds);
	printf("%d lazy services, manager exec until every socket accepts: %.2f ms (target < 50 ms); "
	       "floor (the %d sockets in-process) %.2f ms, ratio %.1f [median of %d]\n",
	       count, ml, count, mlf, ml / mlf, rounds);

	/* 3 + 4. eager services */
	snprintf(cfg, sizeof cfg, "%s/eager", tmp);
	write_defs(cfg, "[Eager%d]\n# %d\n", count, "Executable=" TESTD_BIN "\nArguments=--notify\nReadiness=notify");
	double *e = calloc((size_t)rounds, sizeof(double)), *ef = calloc((size_t)rounds, sizeof(double));
	long rss = 0;
	for (int r = 0; r < rounds; r++) {
		snprintf(rt, sizeof rt, "%s/rt-eager%d", tmp, r);
		double t0 = now_ms();
		m = start_manager(cfg, rt);
		if (wait_ready(1) < 0)
			die("manager never ready");
		e[r] = now_ms() - t0;
		rss = HV_MAX(rss, rss_kib(m));
		stop_manager(m);
		ef[r] = spawn_floor(count);
	}
	double me = median(e, rounds), mef = median(ef, rounds);
	printf("%d eager services (Readiness=notify), manager exec until all READY=1: %.2f ms; "
	       "direct spawn of the same %.2f ms, ratio %.2f [median of %d]\n",
	       count, me, mef, me / mef, rounds);
	printf("SystemServer RSS with %d services running: %.2f MiB (target < 4 MiB)\n", count,
	       (double)rss / 1024.0);

	char cmd[160];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		return 1;
	free(l);
	free(lf);
	free(e);
	free(ef);
	return 0;
}
