/* tests/ipc/test-ipc-abuse.c — misbehaving peers and every limit. Raw
 * sockets send garbage, oversized frames, too many fds, orphan fds, wrong
 * endpoints and malformed payloads: each is dropped with one log line while
 * a well-behaved client keeps being served. Then the limits: connections
 * per server, undispatched bytes and fds, outgoing bytes to a peer that
 * does not read, async calls in flight, and replies to requests never sent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frame.h"
#include "testproto.h"

static char sock[256], logpath[256];

/* Progress on stdout, so a slow or stuck step shows in the test log. */
#define STEP(fn)                                                                           \
	do {                                                                               \
		printf("test-ipc-abuse: %s\n", #fn);                                      \
		fflush(stdout);                                                            \
		fn();                                                                      \
	} while (0)
static hv_conn *good;

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	return fd;
}

/* The server must close on us: read until EOF (bounded wait, no timing). */
static void expect_dropped(int fd)
{
	char buf[65536];
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		REQUIRE(poll(&p, 1, 30000) == 1);
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			break;
		REQUIRE(n > 0);
	}
	close(fd);
}

static void good_still_served(void)
{
	int32_t sum;
	REQUIRE_EQ(test_server_add(good, 40, 2, &sum), 0);
	REQUIRE_EQ(sum, 42);
}

static void send_hdr(int fd, uint32_t magic, uint32_t len, uint16_t id, uint8_t kind, uint8_t nfds,
		     uint32_t rid, const void *payload, size_t plen, const int *fds, unsigned nsend)
{
	uint8_t buf[256];
	hv_frame_hdr h = {.len = len, .magic = magic, .id = id, .kind = kind, .nfds = nfds, .request_id = rid};
	hv_frame_hdr_write(buf, &h);
	REQUIRE(plen <= sizeof(buf) - 16);
	if (plen)
		memcpy(buf + 16, payload, plen);
	struct iovec iov = {buf, 16 + plen};
	union {
		char c[CMSG_SPACE(sizeof(int) * 100)];
		struct cmsghdr a;
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	memset(&ctl, 0, sizeof(ctl));
	if (nsend) {
		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nsend);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nsend);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nsend);
	}
	REQUIRE(sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)(16 + plen));
}

static unsigned drops; /* misbehaving peers so far: one log line each */

static void test_garbage_peers(void)
{
	uint32_t magic = test_server_endpoint.magic;
	int fds[100];
	for (int i = 0; i < 100; i++)
		fds[i] = 0;

	/* Random garbage. */
	int fd = raw_connect(sock);
	char junk[4096];
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 131 + 7);
	(void)!write(fd, junk, sizeof(junk));
	expect_dropped(fd);
	good_still_served();
	drops++;

	/* An oversized frame: dropped from its header, before any payload. */
	fd = raw_connect(sock);
	send_hdr(fd, magic, HV_IPC_MAX_MESSAGE_SIZE + 1, TEST_SERVER_MSG_ECHO, HV_MSG_REQUEST, 0, 1, NULL, 0, NULL, 0);
	expect_dropped(fd);
	good_still_served();
	drops++;

	/* A frame claiming more fds than allowed. */
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_RELEASE, HV_MSG_ONEWAY, HV_IPC_MAX_FDS_PER_MESSAGE + 1, 0, NULL, 0, NULL, 0);
	expect_dropped(fd);
	drops++;

	/* More fds in one sendmsg than a message may carry (MSG_CTRUNC). */
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_RELEASE, HV_MSG_ONEWAY, 0, 0, NULL, 0, fds, HV_IPC_MAX_FDS_PER_MESSAGE + 1);
	expect_dropped(fd);
	drops++;

	/* fds that no frame claims. */
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_RELEASE, HV_MSG_ONEWAY, 0, 0, NULL, 0, fds, 2);
	expect_dropped(fd);
	drops++;

	/* A frame claiming fds that never came. */
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_RELEASE, HV_MSG_ONEWAY, 1, 0, NULL, 0, NULL, 0);
	expect_dropped(fd);
	drops++;

	/* Unknown endpoint; unknown message id; an event sent to a server. */
	fd = raw_connect(sock);
	send_hdr(fd, 0x12345678, 0, 1, HV_MSG_ONEWAY, 0, 0, NULL, 0, NULL, 0);
	expect_dropped(fd);
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_SUNK + 1 /* past the last */, HV_MSG_ONEWAY, 0, 0, NULL, 0, NULL, 0);
	expect_dropped(fd);
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_RELEASE, HV_MSG_EVENT, 0, 0, NULL, 0, NULL, 0);
	expect_dropped(fd);
	drops += 3;

	/* Malformed payloads: bad UTF-8, truncated, trailing bytes. */
	fd = raw_connect(sock);
	send_hdr(fd, magic, 6, TEST_SERVER_MSG_ECHO, HV_MSG_REQUEST, 0, 1, "\1\0\0\0\xff\0", 6, NULL, 0);
	expect_dropped(fd);
	fd = raw_connect(sock);
	send_hdr(fd, magic, 4, TEST_SERVER_MSG_ADD, HV_MSG_REQUEST, 0, 1, "\1\0\0\0", 4, NULL, 0);
	expect_dropped(fd);
	fd = raw_connect(sock);
	send_hdr(fd, magic, 1, TEST_SERVER_MSG_RELEASE, HV_MSG_ONEWAY, 0, 0, "x", 1, NULL, 0);
	expect_dropped(fd);
	drops += 3;

	/* A reply sent to a server, for a request it never made. */
	fd = raw_connect(sock);
	send_hdr(fd, magic, 0, TEST_SERVER_MSG_ECHO, HV_MSG_RESPONSE, 0, 77, NULL, 0, NULL, 0);
	expect_dropped(fd);
	drops++;

	/* A well-formed request after a half frame, then hang up: nothing breaks. */
	fd = raw_connect(sock);
	(void)!write(fd, "\4\0\0", 3);
	close(fd);
	good_still_served();
}

static void test_reply_never_sent(void)
{
	/* The client side: a peer answering a request id we never used. */
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_from_fd(NULL, sv[0], &c), 0);
	send_hdr(sv[1], test_server_endpoint.magic, 0, TEST_SERVER_MSG_ECHO, HV_MSG_RESPONSE, 0, 1234, NULL, 0, NULL, 0);
	int r = hv_conn_dispatch(c, 30000);
	REQUIRE(r == -EBADMSG || r == 0 || r == 1);
	REQUIRE(!hv_conn_is_open(c));
	hv_conn_close(c);
	close(sv[1]);
}

static void limits_hook(hv_server *s) { hv_server_set_max_connections(s, 2); }

static void test_max_connections(void)
{
	char path[300];
	snprintf(path, sizeof(path), "%s/max.sock", test_tmpdir());
	pid_t pid = test_server_fork(path, limits_hook);
	hv_conn *a, *b, *c;
	int32_t sum;
	REQUIRE_EQ(hv_conn_connect(NULL, path, &a), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, path, &b), 0);
	REQUIRE_EQ(test_server_add(a, 1, 1, &sum), 0);
	REQUIRE_EQ(test_server_add(b, 1, 1, &sum), 0);
	REQUIRE_EQ(hv_conn_connect(NULL, path, &c), 0); /* the kernel accepts... */
	int r = test_server_add(c, 1, 1, &sum);                /* ...the server refuses */
	REQUIRE(r == -ECONNRESET || r == -EPIPE);
	hv_conn_close(c);
	REQUIRE_EQ(test_server_add(a, 1, 1, &sum), 0);
	/* A freed slot can be used again. */
	hv_conn_close(b);
	for (int tries = 0;; tries++) {
		REQUIRE(tries < 1000);
		REQUIRE_EQ(hv_conn_connect(NULL, path, &c), 0);
		r = test_server_add(c, 2, 2, &sum);
		hv_conn_close(c);
		if (r == 0)
			break;
		usleep(10000);
	}
	hv_conn_close(a);
	test_server_kill(pid);
	drops++; /* the refusal is logged too */
}

static void test_queued_limits(void)
{
	/* While a sync call waits, what else arrives is queued; past the
	 * connection's limit the peer is dropped and the call fails. */
	hv_loop *loop;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	hv_conn_serve(c, &test_client_endpoint, &tc_handlers);
	hv_conn_set_limits(c, 64u << 10, HV_IPC_MAX_QUEUED_FDS, HV_IPC_MAX_OUTGOING_BYTES);
	REQUIRE_EQ(test_server_flood(c, 100, 4096, false), 0);
	REQUIRE_EQ(test_server_echo(c, "x", NULL), -EBADMSG);
	REQUIRE(!hv_conn_is_open(c));
	hv_conn_close(c);

	/* The same with fds. */
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	hv_conn_serve(c, &test_client_endpoint, &tc_handlers);
	hv_conn_set_limits(c, HV_IPC_MAX_QUEUED_BYTES, 8, HV_IPC_MAX_OUTGOING_BYTES);
	REQUIRE_EQ(test_server_flood(c, 20, 0, true), 0);
	REQUIRE_EQ(test_server_echo(c, "x", NULL), -EBADMSG);
	hv_conn_close(c);

	/* Under the limits, all of it is dispatched afterwards. */
	memset(&test_client_state, 0, sizeof(test_client_state));
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	hv_conn_serve(c, &test_client_endpoint, &tc_handlers);
	hv_conn_set_limits(c, 1u << 20, 64, HV_IPC_MAX_OUTGOING_BYTES);
	REQUIRE_EQ(test_server_flood(c, 20, 1000, true), 0);
	REQUIRE_EQ(test_server_echo(c, "x", NULL), 0);
	for (int turns = 0; test_client_state.nblobs < 20; turns++) {
		REQUIRE(turns < 3000);
		hv_loop_run_once(loop, 20);
	}
	REQUIRE_EQ(test_client_state.blob_bytes, 20000);
	hv_conn_close(c);
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
}

static int lower_out_limit(hv_server *s, hv_conn *c, void *ud)
{
	hv_conn_set_limits(c, HV_IPC_MAX_QUEUED_BYTES, HV_IPC_MAX_QUEUED_FDS, 1u << 20);
	return 0;
}
static void out_limit_hook(hv_server *s) { hv_server_on_connect(s, lower_out_limit, NULL); }

static void test_outgoing_limit(void)
{
	/* A client that asks for 16 MiB of events and never reads: the server
	 * drops it at its outgoing limit and keeps serving others. */
	char path[300];
	snprintf(path, sizeof(path), "%s/out.sock", test_tmpdir());
	pid_t pid = test_server_fork(path, out_limit_hook);
	hv_conn *other;
	REQUIRE_EQ(hv_conn_connect(NULL, path, &other), 0);
	int fd = raw_connect(path);
	uint8_t p[9];
	uint32_t count = 4096, size = 4096;
	memcpy(p, &count, 4);
	memcpy(p + 4, &size, 4);
	p[8] = 0;
	send_hdr(fd, test_server_endpoint.magic, 9, TEST_SERVER_MSG_FLOOD, HV_MSG_ONEWAY, 0, 0, p, 9, NULL, 0);
	/* Read nothing until the flood handler has finished: the first bytes
	 * show it started; the server (one thread) answers `other` only after
	 * that handler returned. */
	struct pollfd first = {.fd = fd, .events = POLLIN};
	REQUIRE(poll(&first, 1, 30000) == 1);
	int32_t sum;
	REQUIRE_EQ(test_server_add(other, 1, 2, &sum), 0);
	size_t total = 0;
	char buf[65536];
	for (;;) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		REQUIRE(poll(&pf, 1, 30000) == 1);
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	close(fd);
	REQUIRE(total < (size_t)count * size / 2);
	REQUIRE_EQ(test_server_add(other, 3, 4, &sum), 0);
	hv_conn_close(other);
	test_server_kill(pid);
	drops++;
}

static void ignore_reply(hv_conn *c, int status, hv_msg *reply, void *ud) { (*(int *)ud)++; }

static void test_pending_limit(void)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	hv_loop *loop;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_from_fd(loop, sv[0], &c), 0);
	int done = 0;
	for (unsigned i = 0; i < HV_IPC_MAX_PENDING_CALLS; i++) {
		hv_enc e;
		hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_ADD, HV_MSG_REQUEST);
		hv_enc_i32(&e, 1);
		hv_enc_i32(&e, 2);
		REQUIRE_EQ(hv_conn_call_async(c, &e, ignore_reply, &done), 0);
	}
	hv_enc e;
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_ADD, HV_MSG_REQUEST);
	hv_enc_i32(&e, 1);
	hv_enc_i32(&e, 2);
	REQUIRE_EQ(hv_conn_call_async(c, &e, ignore_reply, &done), -EAGAIN);
	/* Closing answers every one of them exactly once. */
	hv_conn_close(c);
	REQUIRE_EQ(done, HV_IPC_MAX_PENDING_CALLS);
	close(sv[1]);
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
}

static unsigned count_drop_lines(void)
{
	FILE *f = fopen(logpath, "r");
	REQUIRE(f);
	char line[1024];
	unsigned n = 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "dropping peer") || strstr(line, "refusing peer"))
			n++;
	fclose(f);
	return n;
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock, sizeof(sock), "%s/abuse.sock", test_tmpdir());
	snprintf(logpath, sizeof(logpath), "%s/server.log", test_tmpdir());
	test_server_stderr = logpath;
	pid_t srv = test_server_fork(sock, NULL);
	REQUIRE_EQ(hv_conn_connect(NULL, sock, &good), 0);
	STEP(test_garbage_peers);
	STEP(test_reply_never_sent);
	STEP(test_max_connections);
	STEP(test_outgoing_limit);
	good_still_served();
	/* One line per dropped peer, in the servers' logs. */
	REQUIRE_EQ(count_drop_lines(), drops);
	STEP(test_queued_limits);
	STEP(test_pending_limit);
	good_still_served();
	hv_conn_close(good);
	test_server_kill(srv);
	if (getenv("TEST_SHOW_LOG")) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "cat %s", logpath);
		(void)!system(cmd);
	}
	test_tmp_cleanup();
	printf("test-ipc-abuse: ok\n");
	return 0;
}
