/* fixture.c — EchoServer processes for tests: spawned by hand (--socket) or
 * socket-activated (LISTEN_FDS), waited for without sleeps-as-assertions,
 * stopped with SIGTERM and checked for a clean exit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "service.h"

/* Only to avoid hanging forever on a broken build; never an assertion. */
#define START_TIMEOUT_NS (30ull * 1000000000ull)

int echo_fixture_raw_socket(const echo_fixture *f)
{
	struct sockaddr_un sa;
	int fd = svc_unix_socket(f->sock, &sa);
	REQUIRE_EQ(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	return fd;
}

static void exec_server(const char *server, const char *sock, int listen_fd)
{
	svc_child_setup(listen_fd, "echo");
	if (listen_fd >= 0)
		execl(server, server, (char *)NULL);
	else
		execl(server, server, "--socket", sock, (char *)NULL);
	_exit(127);
}

void echo_fixture_start(echo_fixture *f, const char *server, bool listen_fds)
{
	memset(f, 0, sizeof *f);
	strcpy(f->dir, "/tmp/echo-test-XXXXXX");
	REQUIRE(mkdtemp(f->dir));
	snprintf(f->sock, sizeof f->sock, "%s/echo", f->dir);

	int listen_fd = -1;
	if (listen_fds) {
		/* What a manager does: bind and listen before the service runs. */
		struct sockaddr_un sa;
		listen_fd = svc_unix_socket(f->sock, &sa);
		REQUIRE_EQ(bind(listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
		REQUIRE_EQ(listen(listen_fd, 64), 0);
	}
	f->pid = fork();
	REQUIRE(f->pid >= 0);
	if (f->pid == 0)
		exec_server(server, f->sock, listen_fd);
	if (listen_fd >= 0)
		close(listen_fd);

	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct sockaddr_un sa;
		int fd = svc_unix_socket(f->sock, &sa);
		int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
		close(fd);
		if (r == 0)
			return;
		REQUIRE(echo_fixture_alive(f));
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t ns = (uint64_t)(now.tv_sec - start.tv_sec) * 1000000000ull +
			      (uint64_t)now.tv_nsec - (uint64_t)start.tv_nsec;
		REQUIRE(ns < START_TIMEOUT_NS);
		poll(NULL, 0, 5);
	}
}

bool echo_fixture_alive(echo_fixture *f)
{
	int status;
	return waitpid(f->pid, &status, WNOHANG) == 0;
}

void echo_fixture_stop(echo_fixture *f)
{
	int status = 0;
	REQUIRE_EQ(kill(f->pid, SIGTERM), 0);
	REQUIRE_EQ(waitpid(f->pid, &status, 0), f->pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fprintf(stderr, "EchoServer ended with status %#x\n", status);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(f->sock);
	REQUIRE_EQ(rmdir(f->dir), 0);
}

hv_conn *echo_fixture_connect(const echo_fixture *f)
{
	hv_conn *c = NULL;
	REQUIRE_EQ(hv_conn_connect(NULL, f->sock, &c), 0);
	/* A generous bound so a broken server fails the test instead of hanging it. */
	hv_conn_set_timeout(c, 60000);
	return c;
}

int run_capture(char *const argv[], char *const envp_extra[], char *out, size_t size)
{
	int p[2];
	REQUIRE_EQ(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(p[1], 1);
		dup2(p[1], 2);
		for (size_t i = 0; envp_extra && envp_extra[i]; i++)
			putenv(envp_extra[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	size_t len = 0;
	for (;;) {
		char buf[4096];
		ssize_t n = read(p[0], buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		size_t take = (size_t)n;
		if (take > size - 1 - len)
			take = size - 1 - len;
		memcpy(out + len, buf, take);
		len += take;
	}
	out[len] = '\0';
	close(p[0]);
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int proc_status_field(pid_t pid, const char *key)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	REQUIRE(f);
	int v = -1;
	size_t kl = strlen(key);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = atoi(line + kl + 1);
	fclose(f);
	return v;
}
