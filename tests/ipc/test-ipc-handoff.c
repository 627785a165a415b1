/* tests/ipc/test-ipc-handoff.c — how a service manager's per-user and
 * per-connection instances meet hv_server_start():
 *  - HAVEN_HANDOFF_FD: a fake manager hands further connections to a
 *    running instance over a SOCK_SEQPACKET socket (1 byte + SCM_RIGHTS);
 *    all are served by the same process; bad hand-off messages are ignored;
 *    the manager closing the socket leaves the adopted clients served.
 *  - exit-when-idle by default for an instance given only accepted
 *    connections (it exits 0 when its client leaves), unless the service
 *    chose otherwise with hv_server_set_exit_when_idle().
 *  - hv_conn_call_async returning an error never runs its callback. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/loop.h>

#include "testproto.h"

/* Child: fds[i] at 3 + i as LISTEN_FDS, handoff (if >= 0) at 3 + nfds. */
static pid_t spawn(const int *fds, int nfds, int handoff, void (*hook)(hv_server *s))
{
	int ready[2];
	REQUIRE(pipe2(ready, O_CLOEXEC) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(ready[0]);
		dup2(ready[1], 200);
		int tmp[8], th = -1;
		for (int i = 0; i < nfds; i++)
			tmp[i] = fcntl(fds[i], F_DUPFD, 100);
		if (handoff >= 0)
			th = fcntl(handoff, F_DUPFD, 100);
		/* Only the handed fds: our ends of the sockets must not stay
		 * open here, or the instance would never see its clients leave. */
		close_range(3, 99, 0);
		for (int i = 0; i < nfds; i++)
			dup2(tmp[i], 3 + i);
		char num[32];
		if (th >= 0) {
			dup2(th, 3 + nfds);
			snprintf(num, sizeof(num), "%d", 3 + nfds);
			setenv("HAVEN_HANDOFF_FD", num, 1);
		}
		snprintf(num, sizeof(num), "%d", (int)getpid());
		setenv("LISTEN_PID", num, 1);
		snprintf(num, sizeof(num), "%d", nfds);
		setenv("LISTEN_FDS", num, 1);
		setenv("LISTEN_FDNAMES", "connection", 1);
		char *argv[] = {"test-server", NULL};
		test_server_main(1, argv, hook);
	}
	close(ready[1]);
	char ch;
	REQUIRE(read(ready[0], &ch, 1) == 1);
	close(ready[0]);
	return pid;
}

/* What SystemServer's ss_handoff_send does; nfds 0 or 2 break the protocol. */
static void send_fds(int sock, const int *fds, int nfds)
{
	char byte = 'c';
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u)); /* no uninitialised padding in the control data */
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (nfds > 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	REQUIRE(sendmsg(sock, &mh, MSG_NOSIGNAL) == 1);
}

/* A new client connection handed to the instance; returns our end. */
static hv_conn *hand_over(int handoff)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	send_fds(handoff, &sv[1], 1);
	close(sv[1]);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_from_fd(NULL, sv[0], &c), 0);
	hv_conn_set_timeout(c, 60000); /* an unserved connection fails, not hangs */
	return c;
}

static void sink(hv_conn *c, size_t n)
{
	static uint8_t data[4096];
	REQUIRE_EQ(test_server_sink(c, (hv_bytes){.data = data, .len = n}), 0);
	REQUIRE_EQ(hv_conn_flush(c), 0);
}

static uint64_t sunk(hv_conn *c)
{
	uint64_t v = 0;
	REQUIRE_EQ(test_server_sunk(c, &v), 0);
	return v;
}

static void add_ok(hv_conn *c, int32_t a)
{
	int32_t sum = 0;
	REQUIRE_EQ(test_server_add(c, a, 1, &sum), 0);
	REQUIRE_EQ(sum, a + 1);
}

/* Has pid exited (and been reaped) within ~60 s? Returns its status or -1. */
static int wait_exit(pid_t pid)
{
	for (int i = 0; i < 6000; i++) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return st;
		usleep(10000);
	}
	return -1;
}

static bool still_running(pid_t pid) { return waitpid(pid, NULL, WNOHANG) == 0; }

static void keep_alive(hv_server *s) { hv_server_set_exit_when_idle(s, false); }

static unsigned cb_runs;
static void count_cb(hv_conn *c, int status, hv_msg *reply, void *ud) { cb_runs++; }

static void test_handoff(void)
{
	int first[2], ho[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, first) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ho) == 0);
	pid_t pid = spawn(&first[1], 1, ho[1], NULL);
	close(first[1]);
	close(ho[1]);
	hv_conn *c1;
	REQUIRE_EQ(hv_conn_from_fd(NULL, first[0], &c1), 0);
	add_ok(c1, 1);

	/* Two more clients through the hand-off socket, same process: what one
	 * sinks, the others' sunk() counts. */
	hv_conn *c2 = hand_over(ho[0]);
	hv_conn *c3 = hand_over(ho[0]);
	add_ok(c2, 2);
	add_ok(c3, 3);
	uint64_t base = sunk(c1);
	sink(c2, 1000);
	sink(c3, 234);
	/* Each sunk() is ordered after its own connection's sink; the other
	 * connection's may or may not have been read yet. */
	REQUIRE(sunk(c2) >= base + 1000);
	REQUIRE(sunk(c3) >= base + 234);
	REQUIRE_EQ(sunk(c1), base + 1234);

	/* Broken hand-off messages: no fd, two fds, a pipe. Ignored, the
	 * instance keeps serving and takes the next good one. */
	send_fds(ho[0], NULL, 0);
	int sv[2], p[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	send_fds(ho[0], sv, 2);
	close(sv[1]);
	/* The two-fd message was refused: its socket was closed, we see EOF. */
	char ch;
	REQUIRE_EQ(read(sv[0], &ch, 1), 0);
	close(sv[0]);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	send_fds(ho[0], &p[0], 1);
	close(p[0]);
	/* The pipe's read end was closed by the instance: writing breaks. */
	struct pollfd pf = {.fd = p[1], .events = 0};
	REQUIRE_EQ(poll(&pf, 1, 60000), 1);
	REQUIRE(pf.revents & POLLERR);
	close(p[1]);
	hv_conn *c4 = hand_over(ho[0]);
	add_ok(c4, 4);

	/* The first client leaving does not end a per-user instance. */
	hv_conn_close(c1);
	add_ok(c2, 5);
	REQUIRE(still_running(pid));

	/* The manager goes away: adopted clients are still served. */
	close(ho[0]);
	add_ok(c3, 6);
	add_ok(c4, 7);
	hv_conn_close(c2);
	hv_conn_close(c3);
	hv_conn_close(c4);
	REQUIRE(still_running(pid));
	test_server_kill(pid);
}

static void test_exit_when_idle(void)
{
	/* Only an accepted connection: the instance leaves with its client. */
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid_t pid = spawn(&sv[1], 1, -1, NULL);
	close(sv[1]);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_from_fd(NULL, sv[0], &c), 0);
	add_ok(c, 10);
	hv_conn_close(c);
	int st = wait_exit(pid);
	if (st == -1)
		test_server_kill(pid);
	REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* Two accepted connections: it stays until the second leaves too. */
	int a[2], b[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) == 0);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) == 0);
	int two[2] = {a[1], b[1]};
	pid = spawn(two, 2, -1, NULL);
	close(a[1]);
	close(b[1]);
	hv_conn *ca, *cb;
	REQUIRE_EQ(hv_conn_from_fd(NULL, a[0], &ca), 0);
	REQUIRE_EQ(hv_conn_from_fd(NULL, b[0], &cb), 0);
	hv_conn_close(ca);
	add_ok(cb, 11); /* served after ca's end was seen or not: either way alive */
	REQUIRE(still_running(pid));
	hv_conn_close(cb);
	st = wait_exit(pid);
	if (st == -1)
		test_server_kill(pid);
	REQUIRE(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* The service said no: it keeps running with no client. */
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid = spawn(&sv[1], 1, -1, keep_alive);
	close(sv[1]);
	REQUIRE_EQ(hv_conn_from_fd(NULL, sv[0], &c), 0);
	add_ok(c, 12);
	hv_conn_close(c);
	/* It must not exit while we give it time to (a pass on a slow machine
	 * proves less, but never fails wrongly). */
	usleep(200000);
	REQUIRE(still_running(pid));
	test_server_kill(pid);

	/* A listening socket handed over: never idle-exits by default. */
	char path[300];
	snprintf(path, sizeof(path), "%s/idle.sock", test_tmpdir());
	pid = test_server_fork(path, NULL);
	REQUIRE_EQ(hv_conn_connect(NULL, path, &c), 0);
	add_ok(c, 13);
	hv_conn_close(c);
	REQUIRE_EQ(hv_conn_connect(NULL, path, &c), 0);
	add_ok(c, 14);
	hv_conn_close(c);
	REQUIRE(still_running(pid));
	test_server_kill(pid);
}

static void test_async_error_no_callback(void)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/async.sock", test_tmpdir());
	pid_t pid = test_server_fork(path, NULL);
	hv_loop *loop;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_connect(loop, path, &c), 0);

	/* An encoder error: not sent, callback never runs. */
	hv_enc e;
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_ECHO, HV_MSG_REQUEST);
	hv_enc_string(&e, "\xff\xfe not UTF-8");
	REQUIRE_EQ(hv_conn_call_async(c, &e, count_cb, NULL), -EILSEQ);
	/* A good call after it completes normally: its callback runs once. */
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_ADD, HV_MSG_REQUEST);
	hv_enc_i32(&e, 1);
	hv_enc_i32(&e, 2);
	REQUIRE_EQ(hv_conn_call_async(c, &e, count_cb, NULL), 0);
	for (int i = 0; i < 600 && cb_runs == 0; i++)
		REQUIRE(hv_loop_run_once(loop, 100) >= 0);
	REQUIRE_EQ(cb_runs, 1);

	/* The peer gone and the end seen: the call is refused, no callback. */
	test_server_kill(pid);
	for (int i = 0; i < 600 && hv_conn_is_open(c); i++)
		REQUIRE(hv_loop_run_once(loop, 100) >= 0);
	REQUIRE(!hv_conn_is_open(c));
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_ADD, HV_MSG_REQUEST);
	hv_enc_i32(&e, 1);
	hv_enc_i32(&e, 2);
	int r = hv_conn_call_async(c, &e, count_cb, NULL);
	REQUIRE(r < 0);
	for (int i = 0; i < 5; i++)
		REQUIRE(hv_loop_run_once(loop, 0) >= 0);
	REQUIRE_EQ(cb_runs, 1);
	hv_conn_close(c);
	hv_loop_free(loop);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_handoff();
	test_exit_when_idle();
	test_async_error_no_callback();
	test_tmp_cleanup();
	printf("test-ipc-handoff: ok\n");
	return 0;
}
