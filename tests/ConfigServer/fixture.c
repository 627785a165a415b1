/* fixture.c — see fixture.h. */
#include "fixture.h"

#include <errno.h>
#include <fcntl.h>
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

static void die(const char *what)
{
	fprintf(stderr, "fixture: %s: %s\n", what, strerror(errno));
	exit(1);
}

void cfg_fixture_init(cfg_fixture *f, const char *server)
{
	memset(f, 0, sizeof(*f));
	f->server = server;
	f->pid = -1;
	strcpy(f->dir, "/tmp/hv-config-test-XXXXXX");
	if (!mkdtemp(f->dir))
		die("mkdtemp");
	snprintf(f->sock, sizeof(f->sock), "%s/config", f->dir);
	snprintf(f->user_dir, sizeof(f->user_dir), "%s/user", f->dir);
	snprintf(f->defs_dir, sizeof(f->defs_dir), "%s/defaults", f->dir);
	if (mkdir(f->defs_dir, 0755) < 0)
		die("mkdir");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, f->sock);
	f->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->listen_fd < 0 || bind(f->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(f->listen_fd, 128) < 0)
		die("listening socket");
}

void cfg_fixture_start(cfg_fixture *f)
{
	f->pid = fork();
	if (f->pid < 0)
		die("fork");
	if (f->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		char pid[32];
		/* dup2 clears CLOEXEC on fd 3, but is a no-op if it is fd 3 already */
		if (f->listen_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(f->listen_fd, 3) < 0)
			_exit(127);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("LISTEN_FDS", "1", 1);
		setenv("LISTEN_PID", pid, 1);
		setenv("LISTEN_FDNAMES", "config", 1);
		/* LeakSanitizer's exit-time scan needs ptrace, which the server's
		 * pledge rightly forbids (SIGSYS); ASan still catches every memory
		 * error in it, and the store's own test runs leak-checked. */
		const char *asan = getenv("ASAN_OPTIONS");
		char opts[512];
		snprintf(opts, sizeof(opts), "%s%sdetect_leaks=0", asan ? asan : "",
			 asan && *asan ? ":" : "");
		setenv("ASAN_OPTIONS", opts, 1);
		if (!getenv("HAVEN_LOG"))
			setenv("HAVEN_LOG", "error", 1);
		execl(f->server, f->server, "--config-dir", f->user_dir, "--defaults", f->defs_dir,
		      (char *)NULL);
		_exit(127);
	}
}

int cfg_fixture_kill(cfg_fixture *f, int sig)
{
	int st = 0;
	if (f->pid <= 0)
		return 0;
	kill(f->pid, sig);
	if (waitpid(f->pid, &st, 0) != f->pid)
		die("waitpid");
	f->pid = -1;
	return st;
}

void cfg_fixture_cleanup(cfg_fixture *f)
{
	cfg_fixture_kill(f, SIGKILL);
	close(f->listen_fd);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fixture: cannot remove %s\n", f->dir);
}

hv_conn *cfg_fixture_connect(const cfg_fixture *f)
{
	hv_conn *c = NULL;
	int r = hv_conn_connect(NULL, f->sock, &c);
	if (r < 0) {
		errno = -r;
		die("connect");
	}
	hv_conn_set_timeout(c, 60000);
	return c;
}

void cfg_write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0)
		die(path);
}

int run_capture(char *const argv[], const char *stdin_text, char *out, size_t size)
{
	int o[2], in[2];
	if (pipe2(o, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
		die("pipe");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(o[1], 2);
		execv(argv[0], argv);
		_exit(127);
	}
	close(o[1]);
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	if (stdin_text && write(in[1], stdin_text, strlen(stdin_text)) < 0)
		fprintf(stderr, "fixture: cannot feed stdin\n");
	close(in[1]);
	size_t len = 0;
	for (;;) {
		char buf[4096];
		ssize_t n = read(o[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = HV_MIN((size_t)n, size - 1 - len);
		memcpy(out + len, buf, take);
		len += take;
	}
	out[len] = '\0';
	close(o[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
