/* launch-bench — opening a file end to end, as a person does: `launch open
 * FILE` (the CLI, LaunchServer's classify + pick + spawn) against Debian's
 * `xdg-open FILE` (xdg-mime, file, the desktop entry, exec), on the same
 * temporary XDG tree (tests/LaunchServer/xdg-fixture.sh) and the same
 * file, whose default application is the recorder. One open = from the
 * command's start until the recorder's argv file exists (whole processes:
 * the CLI or the script and everything they run). Interleaved, same run;
 * medians and the ratio printed. Every open is checked (the recorder got
 * exactly "uviewer FILE"); speed is never asserted.
 *
 *   launch-bench [--quick] [N]   (default 40 opens each; --quick: 3) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64], rec[256], file[256], sock[128], want[1024];

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static pid_t spawn(char *const argv[], bool quiet)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (quiet) {
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int run(char *const argv[])
{
	int st;
	pid_t pid = spawn(argv, true);
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait for the recorder's file (not its .tmp); check and remove it. */
static int recorded(void)
{
	for (uint64_t start = now_ns(); now_ns() - start < 10000000000ull;) {
		DIR *d = opendir(rec);
		struct dirent *e;
		char path[512] = "";
		while (d && (e = readdir(d)))
			if (e->d_name[0] != '.' && !strstr(e->d_name, ".tmp"))
				snprintf(path, sizeof(path), "%s/%s", rec, e->d_name);
		if (d)
			closedir(d);
		if (*path) {
			char buf[512] = "";
			int fd = open(path, O_RDONLY);
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
			if (fd >= 0)
				close(fd);
			unlink(path);
			for (ssize_t i = 0; i < n; i++)
				if (!buf[i])
					buf[i] = '|';
			return n > 0 && !strcmp(buf, want) ? 0 : -1;
		}
		struct timespec ts = {0, 50000};
		nanosleep(&ts, NULL);
	}
	return -1;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int one(char *const argv[], uint64_t *ns)
{
	uint64_t t0 = now_ns();
	if (run(argv) != 0 || recorded() < 0)
		return -1;
	*ns = now_ns() - t0;
	return 0;
}

int main(int argc, char **argv)
{
	int n = 40;
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	if (quick)
		n = 3;
	else if (argc > 1)
		n = atoi(argv[1]);
	if (n < 1 || n > 100000) {
		fprintf(stderr, "usage: launch-bench [--quick] [N]\n");
		return 2;
	}
	if (access("/usr/bin/xdg-open", X_OK) != 0) {
		fprintf(stderr, "launch-bench: no xdg-open (xdg-utils): nothing to compare with\n");
		return quick ? 77 : 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/haven-launch-bench-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	/* The tree: tests/LaunchServer/xdg-fixture.sh, as the tests make it. */
	char script[1024];
	snprintf(script, sizeof(script), "dir=%s recorder=%s; . %s", dir, LAUNCH_BENCH_RECORDER,
		 LAUNCH_BENCH_FIXTURE);
	char *sh[] = {"bash", "-c", script, NULL};
	if (run(sh) != 0) {
		fprintf(stderr, "launch-bench: the fixture failed\n");
		return 1;
	}
	char x[96], v[256];
	snprintf(x, sizeof(x), "%s/xdg", dir);
	snprintf(v, sizeof(v), "%s/data", x);
	setenv("XDG_DATA_HOME", v, 1);
	snprintf(v, sizeof(v), "%s/sys", x);
	setenv("XDG_DATA_DIRS", v, 1);
	snprintf(v, sizeof(v), "%s/config", x);
	setenv("XDG_CONFIG_HOME", v, 1);
	snprintf(v, sizeof(v), "%s/etc-xdg", x);
	setenv("XDG_CONFIG_DIRS", v, 1);
	snprintf(rec, sizeof(rec), "%s/out", x);
	setenv("REC_DIR", rec, 1);
	static const char *const unset[] = {"XDG_CURRENT_DESKTOP", "DESKTOP_SESSION", "BROWSER",
					    "KDE_FULL_SESSION", "GNOME_DESKTOP_SESSION_ID"};
	for (size_t i = 0; i < sizeof(unset) / sizeof(unset[0]); i++)
		unsetenv(unset[i]);
	/* xdg-open consults desktop entries only "when there is a display";
	 * it only looks at the variable. */
	if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY"))
		setenv("DISPLAY", ":0", 1);
	snprintf(file, sizeof(file), "%s/files/picture.png", x);
	snprintf(want, sizeof(want), "%s/bin/uviewer|%s|", x, file);
	snprintf(sock, sizeof(sock), "%s/launch.sock", dir);
	char *server[] = {LAUNCH_BENCH_SERVER, "--socket", sock, NULL};
	pid_t srv = spawn(server, true);
	for (int i = 0; i < 1000 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	char *ours[] = {LAUNCH_BENCH_CLI, "--socket", sock, "open", file, NULL};
	char *theirs[] = {"xdg-open", file, NULL};
	uint64_t *a = calloc((size_t)n, sizeof(*a)), *b = calloc((size_t)n, sizeof(*b)), t;
	int bad = 0;
	for (int i = 0; i < 2; i++) /* warm the caches of both */
		bad += one(ours, &t) < 0 || one(theirs, &t) < 0;
	for (int i = 0; i < n && a && b; i++) {
		bad += one(ours, &a[i]) < 0;
		bad += one(theirs, &b[i]) < 0;
	}
	kill(srv, SIGTERM);
	waitpid(srv, NULL, 0);
	char *rm[] = {"rm", "-rf", dir, NULL};
	run(rm);
	if (bad || !a || !b) {
		fprintf(stderr,
			"launch-bench: %d opens went wrong (no recorder file, or the wrong argv)\n",
			bad);
		return 1;
	}
	qsort(a, (size_t)n, sizeof(*a), cmp);
	qsort(b, (size_t)n, sizeof(*b), cmp);
	double ma = a[n / 2] / 1e6, mb = b[n / 2] / 1e6;
	printf("open a PNG end to end, %d times each (median, p90 ms):\n", n);
	printf("  launch open   %8.2f %8.2f\n", ma, a[n * 9 / 10] / 1e6);
	printf("  xdg-open      %8.2f %8.2f\n", mb, b[n * 9 / 10] / 1e6);
	printf("  ratio launch/xdg-open: %.3f (goal <= 0.5)\n", ma / mb);
	free(a);
	free(b);
	return 0;
}
