/* config-bench — reading one setting, three ways, in the same run:
 *   ini      parse the domain's INI file with libinih each time (what a
 *            program without ConfigServer does: open, read, parse, close)
 *   cached   conf_read_string on a connection that read it before (the
 *            client library's cache: no IPC)
 *   server   conf_read_string with the cache off (one round trip)
 * and the cold figures: connect + first read (monitor_domain + read).
 * Rounds are interleaved; each figure is the median over rounds of the
 * mean per read in a batch. Prints cached/ini against the goal (≤ 1.2×,
 * issue 13). Speed is never asserted.
 *
 *   config-bench [--configserver PATH] [--quick]
 */
#include <errno.h>
#include <ini.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "config-client.h"

#ifndef CONF_BENCH_SERVER
#define CONF_BENCH_SERVER "ConfigServer"
#endif
#define GOAL 1.2
#define DOMAIN "Bench"

static bool quick;
static char dir[64];
static pid_t server_pid, main_pid;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "config-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static void cleanup(void)
{
	if (getpid() != main_pid)
		return;
	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, NULL, 0);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (dir[0] && system(cmd) != 0)
		fprintf(stderr, "config-bench: could not remove %s\n", dir);
}

static void start_server(const char *exe, const char *sock)
{
	char cfg[128];
	snprintf(cfg, sizeof cfg, "%s/config", dir);
	server_pid = fork();
	if (server_pid < 0)
		die("fork", errno);
	if (server_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("HAVEN_LOG", "error", 1);
		execl(exe, exe, "--socket", sock, "--config-dir", cfg, "--defaults",
		      "/nonexistent/haven-defaults", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 5000; i++) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		if (strlen(sock) >= sizeof sa.sun_path)
			die("socket path too long", ENAMETOOLONG);
		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (fd >= 0)
			close(fd);
		if (ok)
			return;
		if (waitpid(server_pid, NULL, WNOHANG) == server_pid)
			die("ConfigServer exited at start", ECHILD);
		usleep(2000);
	}
	die("ConfigServer did not start listening", ETIMEDOUT);
}

/* --- the INI file, read directly ------------------------------------------ */
struct ini_find {
	const char *group, *key;
	char *value;
};

static int on_ini(void *ud, const char *section, const char *name, const char *value)
{
	struct ini_find *f = ud;
	if (!strcmp(section, f->group) && !strcmp(name, f->key)) {
		free(f->value);
		f->value = strdup(value);
	}
	return 1;
}

static char *ini_read(const char *path, const char *group, const char *key)
{
	struct ini_find f = {group, key, NULL};
	if (ini_parse(path, on_ini, &f) != 0)
		die("ini_parse", EBADMSG);
	return f.value;
}

/* --- one batch of reads, ns per read -------------------------------------- */
static const char *want;

static double batch_ini(const char *path, int n)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		char *v = ini_read(path, "Window", "key15");
		if (!v || strcmp(v, want))
			die("ini: wrong value", EIO);
		free(v);
	}
	return (double)(now_ns() - t0) / n;
}

/* The smallest file: one group, one key. */
static double batch_ini_small(const char *path, int n)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		char *v = ini_read(path, "G", "k");
		if (!v || strcmp(v, want))
			die("ini: wrong value", EIO);
		free(v);
	}
	return (double)(now_ns() - t0) / n;
}

static double batch_conf(hv_conn *c, const char *domain, int n)
{
	bool small = strcmp(domain, DOMAIN);
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		char *v = NULL;
		int r = conf_read_string(c, domain, small ? "G" : "Window", small ? "k" : "key15", &v);
		if (r != 1 || strcmp(v, want))
			die("conf_read_string: wrong value", r < 0 ? r : EIO);
		free(v);
	}
	return (double)(now_ns() - t0) / n;
}

/* Connect and read once: the first read monitors the domain, then reads. */
static double batch_cold(const char *sock, int n)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		hv_conn *c = NULL;
		int r = conf_connect(NULL, sock, &c);
		if (r < 0)
			die("connect", r);
		char *v = NULL;
		if ((r = conf_read_string(c, DOMAIN, "Window", "key15", &v)) != 1)
			die("cold read", r < 0 ? r : EIO);
		free(v);
		hv_conn_close(c);
	}
	return (double)(now_ns() - t0) / n;
}

/* A settings file of a plausible size: 4 groups of 30 keys. */
static void fill(hv_conn *c)
{
	static const char *groups[] = {"General", "Window", "Fonts", "Keys"};
	static conf_op ops[120];
	static char keys[120][16], values[120][48];
	for (int i = 0; i < 120; i++) {
		snprintf(keys[i], sizeof keys[i], "key%d", i % 30);
		snprintf(values[i], sizeof values[i], "value of %s number %d", groups[i / 30], i);
		ops[i] = (conf_op){CONF_OP_SET, groups[i / 30], keys[i], values[i]};
	}
	want = values[45]; /* Window.key15 */
	int r = conf_write_batch(c, DOMAIN, ops, 120);
	if (r == 0)
		r = conf_write_string(c, "Small", "G", "k", want);
	if (r < 0)
		die("write_batch", r);
}

int main(int argc, char **argv)
{
	const char *exe = CONF_BENCH_SERVER;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = true;
		else if (!strcmp(argv[i], "--configserver") && i + 1 < argc)
			exe = argv[++i];
		else {
			fprintf(stderr, "usage: config-bench [--configserver PATH] [--quick]\n");
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	hv_log_set_level(HV_LOG_ERROR);
	main_pid = getpid();
	snprintf(dir, sizeof dir, "/tmp/config-bench.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp", errno);
	atexit(cleanup);
	char sock[128], path[160], small[160];
	snprintf(sock, sizeof sock, "%s/config.sock", dir);
	snprintf(path, sizeof path, "%s/config/" DOMAIN ".ini", dir);
	snprintf(small, sizeof small, "%s/config/Small.ini", dir);
	start_server(exe, sock);

	hv_conn *cached = NULL, *server = NULL;
	int r = conf_connect(NULL, sock, &cached);
	if (r == 0)
		r = conf_connect(NULL, sock, &server);
	if (r < 0)
		die("connect", r);
	conf_set_cache(server, false);
	fill(server);

	int rounds = quick ? 3 : 10, n_fast = quick ? 200 : 20000, n_slow = quick ? 50 : 2000,
	    n_cold = quick ? 20 : 300;
	double ini[10], hit[10], rt[10], cold[10], ini_s[10], hit_s[10];
	batch_conf(cached, DOMAIN, 1); /* the first reads: monitor + read */
	batch_conf(cached, "Small", 1);
	for (int k = 0; k < rounds; k++) {
		ini[k] = batch_ini(path, n_fast);
		hit[k] = batch_conf(cached, DOMAIN, n_fast);
		ini_s[k] = batch_ini_small(small, n_fast);
		hit_s[k] = batch_conf(cached, "Small", n_fast);
		rt[k] = batch_conf(server, DOMAIN, n_slow);
		cold[k] = batch_cold(sock, n_cold);
	}
	double m_ini = median(ini, rounds), m_hit = median(hit, rounds), m_rt = median(rt, rounds),
	       m_cold = median(cold, rounds), m_ini_s = median(ini_s, rounds),
	       m_hit_s = median(hit_s, rounds);
	printf("config-bench: one string setting, median of %d interleaved rounds (ns per read)\n",
	       rounds);
	struct stat sb;
	if (stat(path, &sb) < 0)
		die("stat", errno);
	printf("  ini file parsed (libinih, %5lld bytes)   %10.0f\n", (long long)sb.st_size, m_ini);
	printf("  cached read (no IPC)                     %10.0f\n", m_hit);
	printf("  read with the cache off (round trip)     %10.0f\n", m_rt);
	printf("  cold: connect + first read (monitor+read)%10.0f\n", m_cold);
	printf("  ratio cached/ini %.3fx (goal <= %.1fx): %s; round trip/ini %.2fx\n", m_hit / m_ini,
	       GOAL, m_hit / m_ini <= GOAL ? "met" : "NOT met", m_rt / m_ini);
	printf("  one-key file: ini %.0f, cached %.0f: ratio %.3fx (goal <= %.1fx): %s\n", m_ini_s,
	       m_hit_s, m_hit_s / m_ini_s, GOAL, m_hit_s / m_ini_s <= GOAL ? "met" : "NOT met");
	hv_conn_close(cached);
	hv_conn_close(server);
	return 0;
}
