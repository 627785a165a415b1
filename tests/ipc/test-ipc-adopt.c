/* tests/ipc/test-ipc-adopt.c — how services get their sockets: systemd's
 * LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES (listening and already-accepted
 * sockets, picked by name, variables cleared after adoption), SerenityOS's
 * SOCKET_TAKEOVER, `--socket PATH` / `--socket=PATH`, and the error when
 * nothing was handed over. Each server runs in a forked child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testproto.h"

static int listen_at(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(listen(fd, 16) == 0);
	return fd;
}

enum mode { M_START, M_BY_NAME, M_WRONG_PID, M_TAKEOVER, M_BOTH };

/* Child: put fds at 3.., set the environment, adopt, report, serve. */
static pid_t spawn(enum mode mode, const int *fds, int nfds, const char *names, int ready[2])
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(ready[0]);
	dup2(ready[1], 200);
	/* Move the handed fds to 3, 4, ... without clobbering each other. */
	int tmp[8];
	for (int i = 0; i < nfds; i++)
		tmp[i] = fcntl(fds[i], F_DUPFD, 100);
	for (int i = 0; i < nfds; i++)
		dup2(tmp[i], 3 + i);
	char num[32];
	if (mode == M_TAKEOVER || mode == M_BOTH) {
		char tk[512];
		snprintf(tk, sizeof(tk), "%s:3", names);
		setenv("SOCKET_TAKEOVER", tk, 1);
	}
	if (mode != M_TAKEOVER) {
		snprintf(num, sizeof(num), "%d", mode == M_WRONG_PID ? (int)getpid() + 1 : (int)getpid());
		setenv("LISTEN_PID", num, 1);
		snprintf(num, sizeof(num), "%d", nfds);
		setenv("LISTEN_FDS", num, 1);
		if (names)
			setenv("LISTEN_FDNAMES", names, 1);
	}
	hv_loop *loop;
	hv_server *s;
	if (hv_loop_new(&loop) < 0 || hv_server_new(loop, &test_server_endpoint, &ts_handlers, &s) < 0)
		_exit(10);
	int r;
	if (mode == M_BY_NAME) {
		/* Two servers in one process, each taking its own socket. */
		hv_server *s2;
		if (hv_server_new(loop, &test_server_endpoint, &ts_handlers, &s2) < 0)
			_exit(10);
		if (hv_server_adopt_from_env(s, "second") != 1)
			_exit(12);
		if (hv_server_adopt_from_env(s2, "first") != 1)
			_exit(13);
		if (hv_server_adopt_from_env(s2, "first") != 0) /* taken already */
			_exit(14);
		r = 0;
	} else {
		r = hv_server_start(s, NULL);
	}
	if (r == -ENOENT)
		_exit(11);
	if (r < 0)
		_exit(15);
	/* Cleared after adoption, so children do not inherit them. */
	if (getenv("LISTEN_FDS") || getenv("LISTEN_PID") || getenv("LISTEN_FDNAMES") ||
	    getenv("SOCKET_TAKEOVER"))
		_exit(16);
	(void)!write(200, "R", 1);
	close(200);
	hv_loop_run(loop);
	_exit(0);
}

static int wait_ready(int ready[2], pid_t pid)
{
	close(ready[1]);
	char ch;
	ssize_t n = read(ready[0], &ch, 1);
	close(ready[0]);
	if (n == 1)
		return 0;
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static unsigned disconnects;
static void on_disc(hv_server *s, hv_conn *c, void *ud) { disconnects++; }
static void idle_hook(hv_server *s)
{
	hv_server_set_exit_when_idle(s, true);
	hv_server_on_disconnect(s, on_disc, NULL);
}

static void call_ok(hv_conn *c)
{
	int32_t sum;
	REQUIRE_EQ(test_server_add(c, 2, 3, &sum), 0);
	REQUIRE_EQ(sum, 5);
	hv_conn_close(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	char p1[300], p2[300];
	snprintf(p1, sizeof(p1), "%s/one.sock", test_tmpdir());
	snprintf(p2, sizeof(p2), "%s/two.sock", test_tmpdir());
	int ready[2];
	hv_conn *c;

	/* LISTEN_FDS with one listening socket, via hv_server_start. */
	int l1 = listen_at(p1);
	REQUIRE(pipe(ready) == 0);
	pid_t pid = spawn(M_START, &l1, 1, "main", ready);
	REQUIRE_EQ(wait_ready(ready, pid), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, p1, &c), 0);
	call_ok(c);
	test_server_kill(pid);
	close(l1);
	unlink(p1);

	/* Two named sockets, two servers. */
	l1 = listen_at(p1);
	int l2 = listen_at(p2);
	int both[2] = {l1, l2};
	REQUIRE(pipe(ready) == 0);
	pid = spawn(M_BY_NAME, both, 2, "first:second", ready);
	REQUIRE_EQ(wait_ready(ready, pid), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, p1, &c), 0);
	call_ok(c);
	REQUIRE_EQ(hv_conn_connect(NULL, p2, &c), 0);
	call_ok(c);
	test_server_kill(pid);
	close(l1);
	close(l2);
	unlink(p1);
	unlink(p2);

	/* An already-accepted connection (SO_ACCEPTCONN = 0). */
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE(pipe(ready) == 0);
	pid = spawn(M_START, &sv[1], 1, NULL, ready);
	REQUIRE_EQ(wait_ready(ready, pid), 0);
	close(sv[1]);
	REQUIRE_EQ(hv_conn_from_fd(NULL, sv[0], &c), 0);
	call_ok(c);
	test_server_kill(pid);

	/* LISTEN_PID of another process: not ours, nothing adopted. */
	l1 = listen_at(p1);
	REQUIRE(pipe(ready) == 0);
	pid = spawn(M_WRONG_PID, &l1, 1, NULL, ready);
	REQUIRE_EQ(wait_ready(ready, pid), 11);
	close(l1);
	unlink(p1);

	/* SerenityOS's SOCKET_TAKEOVER="path:fd". */
	l1 = listen_at(p1);
	REQUIRE(pipe(ready) == 0);
	pid = spawn(M_TAKEOVER, &l1, 1, p1, ready);
	REQUIRE_EQ(wait_ready(ready, pid), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, p1, &c), 0);
	call_ok(c);
	test_server_kill(pid);
	close(l1);
	unlink(p1);

	/* One fd named by both protocols (as SystemServer does): adopted once. */
	l1 = listen_at(p1);
	REQUIRE(pipe(ready) == 0);
	pid = spawn(M_BOTH, &l1, 1, p1, ready);
	REQUIRE_EQ(wait_ready(ready, pid), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, p1, &c), 0);
	call_ok(c);
	test_server_kill(pid);
	close(l1);
	unlink(p1);

	/* --socket PATH and --socket=PATH (a stale socket file is replaced). */
	l1 = listen_at(p1);
	close(l1); /* leaves a stale socket file */
	pid = test_server_fork(p1, NULL);
	REQUIRE_EQ(hv_conn_connect(NULL, p1, &c), 0);
	call_ok(c);
	test_server_kill(pid);
	REQUIRE(pipe(ready) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		dup2(ready[1], 200);
		char arg[320];
		snprintf(arg, sizeof(arg), "--socket=%s", p2);
		char *argv[] = {"test-server", "-v", arg, NULL};
		test_server_main(3, argv, NULL);
	}
	REQUIRE_EQ(wait_ready(ready, pid), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, p2, &c), 0);
	call_ok(c);
	test_server_kill(pid);

	/* A live server's socket is never replaced. */
	pid = test_server_fork(p1, NULL);
	hv_loop *loop;
	hv_server *s;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_server_new(loop, &test_server_endpoint, &ts_handlers, &s), 0);
	REQUIRE_EQ(hv_server_listen(s, p1), -EADDRINUSE);
	/* Nothing handed over and no --socket: -ENOENT. */
	REQUIRE_EQ(hv_server_start(s, NULL), -ENOENT);
	hv_server_free(s);
	hv_loop_free(loop);
	test_server_kill(pid);

	/* exit-when-idle: the instance quits once its last client is gone. */
	pid = test_server_fork(p2, idle_hook);
	REQUIRE_EQ(hv_conn_connect(NULL, p2, &c), 0);
	call_ok(c);
	int st;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	test_tmp_cleanup();
	printf("test-ipc-adopt: ok\n");
	return 0;
}
