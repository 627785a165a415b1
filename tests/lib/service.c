/* service.c — a service under a minimal manager of the test's own
 * (see service.h). No sleeps: the socket exists before the service runs, so
 * a client's connect is queued by the kernel until the service accepts. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "service.h"

int svc_unix_socket(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	REQUIRE(strlen(path) < sizeof sa->sun_path);
	strcpy(sa->sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	return fd;
}

void svc_child_setup(int listen_fd, const char *name)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* LeakSanitizer's exit-time scan needs ptrace, which the service's
	 * pledge rightly forbids (SIGSYS). Under ASan the service still aborts
	 * on any memory error; its logic's leaks are checked by the unit tests. */
	const char *asan = getenv("ASAN_OPTIONS");
	char opts[512];
	snprintf(opts, sizeof opts, "%s%sdetect_leaks=0", asan ? asan : "", asan && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	if (listen_fd < 0) {
		unsetenv("LISTEN_FDS");
		return;
	}
	/* fd 3 without close-on-exec (dup2 onto itself would keep the flag). */
	if (listen_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(listen_fd, 3) < 0)
		_exit(127);
	char pid[32];
	snprintf(pid, sizeof pid, "%d", (int)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDNAMES", name, 1);
}

static void spawn(svc_fixture *f)
{
	f->pid = fork();
	REQUIRE(f->pid >= 0);
	if (f->pid)
		return;
	svc_child_setup(f->listen_fd, strrchr(f->sock, '/') + 1);
	if (f->log) {
		int fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0 || dup2(fd, 2) < 0)
			_exit(127);
	}
	char *argv[16];
	size_t n = 0;
	argv[n++] = (char *)f->exe;
	for (size_t i = 0; f->args && f->args[i] && n < 15; i++)
		argv[n++] = (char *)f->args[i];
	argv[n] = NULL;
	execv(f->exe, argv);
	_exit(127);
}

void svc_prepare(svc_fixture *f, const char *exe, const char *name, const char *const *args)
{
	memset(f, 0, sizeof *f);
	strcpy(f->dir, "/tmp/haven-svc-test-XXXXXX");
	REQUIRE(mkdtemp(f->dir));
	snprintf(f->portal, sizeof f->portal, "%s/portal", f->dir);
	snprintf(f->runtime, sizeof f->runtime, "%s/run", f->dir);
	snprintf(f->sock, sizeof f->sock, "%s/%s", f->portal, name);
	char config[128];
	snprintf(config, sizeof config, "%s/config", f->dir);
	REQUIRE_EQ(mkdir(f->portal, 0700), 0);
	REQUIRE_EQ(mkdir(f->runtime, 0700), 0);
	REQUIRE_EQ(mkdir(config, 0700), 0);
	setenv("HAVEN_PORTAL_DIR", f->portal, 1);
	setenv("XDG_RUNTIME_DIR", f->runtime, 1);
	setenv("XDG_CONFIG_HOME", config, 1);
	f->exe = exe;
	f->args = args;
	struct sockaddr_un sa;
	f->listen_fd = svc_unix_socket(f->sock, &sa);
	REQUIRE_EQ(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
	REQUIRE_EQ(listen(f->listen_fd, 128), 0);
}

void svc_start(svc_fixture *f, const char *exe, const char *name, const char *const *args)
{
	svc_prepare(f, exe, name, args);
	spawn(f);
}

int svc_kill(svc_fixture *f, int signo)
{
	int status = 0;
	REQUIRE_EQ(kill(f->pid, signo), 0);
	REQUIRE_EQ(waitpid(f->pid, &status, 0), f->pid);
	f->pid = 0;
	return status;
}

void svc_respawn(svc_fixture *f)
{
	REQUIRE(f->pid == 0);
	spawn(f);
}

bool svc_alive(svc_fixture *f)
{
	int status;
	return f->pid > 0 && waitpid(f->pid, &status, WNOHANG) == 0;
}

void svc_stop(svc_fixture *f)
{
	int status = svc_kill(f, SIGTERM);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "%s ended with status %#x\n", f->exe, status);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(f->listen_fd);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	REQUIRE_EQ(system(cmd), 0);
}

hv_conn *svc_connect(const svc_fixture *f)
{
	hv_conn *c = NULL;
	REQUIRE_EQ(hv_conn_connect(NULL, f->sock, &c), 0);
	/* Only so a broken service fails the test instead of hanging it. */
	hv_conn_set_timeout(c, 120000);
	return c;
}

int svc_raw_socket(const svc_fixture *f)
{
	struct sockaddr_un sa;
	int fd = svc_unix_socket(f->sock, &sa);
	REQUIRE_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

bool svc_log_says(const svc_fixture *f, const char *words, int ms)
{
	static char text[65536];
	for (int waited = 0;; waited += 20) {
		int fd = open(f->log, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, text, sizeof text - 1) : -1;
		if (fd >= 0)
			close(fd);
		text[n > 0 ? n : 0] = 0;
		if (strstr(text, words))
			return true;
		if (waited >= ms) {
			fprintf(stderr, "%s's log lacks \"%s\":\n%s", f->exe, words, text);
			return false;
		}
		usleep(20000);
	}
}

void svc_write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	REQUIRE(fp);
	REQUIRE(fputs(text, fp) >= 0);
	REQUIRE_EQ(fclose(fp), 0);
}

void drain(hv_conn *c)
{
	while (hv_conn_dispatch(c, 0) > 0)
		;
}

/* Read fd to EOF into buf (truncated, NUL terminated) or discard. */
static void slurp(int fd, char *buf, size_t size)
{
	size_t len = 0;
	for (;;) {
		char tmp[65536];
		ssize_t n = read(fd, tmp, sizeof tmp);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf) {
			size_t take = HV_MIN((size_t)n, size - 1 - len);
			memcpy(buf + len, tmp, take);
			len += take;
		}
	}
	if (buf)
		buf[len] = 0;
}

int run_cmd(char *const argv[], int in_fd, char *out, size_t size, char *err, size_t err_size)
{
	int po[2], pe[2];
	REQUIRE_EQ(pipe2(po, O_CLOEXEC), 0);
	REQUIRE_EQ(pipe2(pe, O_CLOEXEC), 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
		dup2(in, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* stderr is small; read stdout first, then stderr. A child that fills
	 * the stderr pipe while we read stdout would block: keep its messages short. */
	slurp(po[0], out, size);
	slurp(pe[0], err, err_size);
	close(po[0]);
	close(pe[0]);
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

size_t svc_run_clients(int n, void (*client)(int k, int report_fd, void *ud), void *ud,
		       uint64_t *out, size_t max)
{
	int p[2];
	REQUIRE_EQ(pipe2(p, O_CLOEXEC), 0);
	pid_t pids[64];
	REQUIRE(n > 0 && n <= (int)HV_ARRAY_SIZE(pids));
	for (int k = 0; k < n; k++) {
		pids[k] = fork();
		REQUIRE(pids[k] >= 0);
		if (pids[k] == 0) {
			close(p[0]);
			client(k, p[1], ud);
			_exit(0);
		}
	}
	close(p[1]);
	size_t got = 0;
	uint64_t v;
	while (read(p[0], &v, sizeof v) == (ssize_t)sizeof v)
		if (got < max)
			out[got++] = v;
	close(p[0]);
	for (int k = 0; k < n; k++) {
		int status;
		REQUIRE_EQ(waitpid(pids[k], &status, 0), pids[k]);
		REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	return got;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

bool svc_all_distinct(const uint64_t *v, size_t n)
{
	uint64_t *s = malloc(n * sizeof(*s) + 1);
	REQUIRE(s);
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	bool ok = true;
	for (size_t i = 1; i < n && ok; i++)
		ok = s[i] != s[i - 1];
	free(s);
	return ok;
}

pid_t svc_find_child(pid_t parent, const char *comm)
{
	DIR *d = opendir("/proc");
	REQUIRE(d);
	pid_t found = 0;
	struct dirent *e;
	while (!found && (e = readdir(d))) {
		char path[300], name[64];
		int pid = atoi(e->d_name), ppid = 0;
		if (pid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%*d (%63[^)]) %*c %d", name, &ppid) == 2 && ppid == parent &&
		    !strcmp(name, comm))
			found = pid;
		fclose(f);
	}
	closedir(d);
	return found;
}
