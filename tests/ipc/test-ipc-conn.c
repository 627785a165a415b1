/* tests/ipc/test-ipc-conn.c — calls across real processes over a socket
 * file: sync, typed remote errors, async with many in flight answered in
 * reverse order, one-way and events (also arriving during a sync call),
 * fd passing (pipe + memfd used on the other side), Buffer and Bitmap,
 * timeouts, peer killed mid-call (sync and async), loop-less clients,
 * peer credentials, the IPC trace, and a handler making a sync call while
 * later events wait in the read buffer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>

#include "testproto.h"

static char sock[256];

/* One loop turn. Short waits: hv_loop_run_once may block for its whole
 * timeout after running deferred calls, so the caller re-checks often;
 * the bound only avoids a hang (about 60 s), it is not a timing check. */
static void spin(hv_loop *loop)
{
	static unsigned turns;
	REQUIRE(hv_loop_run_once(loop, 20) >= 0);
	REQUIRE(++turns < 3000);
}

static hv_conn *connect_loopless(void)
{
	hv_conn *c;
	REQUIRE_EQ(hv_conn_connect(NULL, sock, &c), 0);
	return c;
}

static void test_sync(void)
{
	hv_conn *c = connect_loopless();
	const char *out;
	REQUIRE_EQ(test_server_echo(c, "hello", &out), 0);
	REQUIRE(strcmp(out, "hello") == 0);
	int32_t sum;
	for (int i = 0; i < 1000; i++) {
		REQUIRE_EQ(test_server_add(c, i, 2 * i, &sum), 0);
		REQUIRE_EQ(sum, 3 * i);
	}
	/* Large payload (several read chunks). */
	size_t n = 3u << 20;
	char *big = malloc(n + 1);
	memset(big, 'z', n);
	big[n] = 0;
	REQUIRE_EQ(test_server_echo(c, big, &out), 0);
	REQUIRE_EQ(strlen(out), n);
	free(big);
	/* Peer credentials: the server is our child, same uid. */
	REQUIRE_EQ(hv_conn_peer(c)->uid, getuid());
	REQUIRE(hv_conn_peer(c)->pid > 0 && hv_conn_peer(c)->pid != getpid());
	hv_conn_close(c);
}

/* The built-in introspection request: the runtime answers with the
 * contract ipcc embedded (one endpoint, or all for magic 0); an endpoint
 * not served is -ENOENT, and the connection stays usable. */
static void test_introspect(void)
{
	hv_conn *c = connect_loopless();
	hv_strv all = {0}, one = {0};
	REQUIRE_EQ(hv_conn_introspect(c, NULL, 5000, &all), 0);
	REQUIRE_EQ(all.n, 1u);
	CHECK_STR(all.v[0], test_server_endpoint.description);
	CHECK(strstr(all.v[0], "{\"endpoint\":\"TestServer\"") == all.v[0]);
	REQUIRE_EQ(hv_conn_introspect(c, &test_server_endpoint, 5000, &one), 0);
	REQUIRE_EQ(one.n, 1u);
	CHECK_STR(one.v[0], all.v[0]);
	hv_strv none = {0};
	CHECK_EQ(hv_conn_introspect(c, &test_client_endpoint, 5000, &none), -ENOENT);
	CHECK_EQ(none.n, 0u);
	const char *out;
	REQUIRE_EQ(test_server_echo(c, "still here", &out), 0);
	CHECK_STR(out, "still here");
	hv_strv_clear(&all);
	hv_strv_clear(&one);
	hv_conn_close(c);
}

static void test_remote_error(void)
{
	hv_conn *c = connect_loopless();
	REQUIRE_EQ(test_server_fail(c, -EACCES, "not for you"), -EACCES);
	const hv_ipc_error *err = hv_conn_last_error(c);
	REQUIRE(err->remote && err->code == -EACCES && strcmp(err->message, "not for you") == 0);
	/* One-line text for CLIs: the peer's words for its own error only. */
	REQUIRE(strcmp(hv_conn_strerror(c, -EACCES), "not for you") == 0);
	REQUIRE(strcmp(hv_conn_strerror(c, -EPIPE), strerror(EPIPE)) == 0);
	REQUIRE(strcmp(hv_conn_strerror(NULL, -ENOENT), strerror(ENOENT)) == 0);
	/* The connection is still fine after a typed failure. */
	int32_t sum;
	REQUIRE_EQ(test_server_add(c, 1, 1, &sum), 0);
	REQUIRE_EQ(sum, 2);
	/* Encoding errors never reach the wire. */
	REQUIRE_EQ(test_server_echo(c, "\xff", NULL), -EILSEQ);
	REQUIRE_EQ(test_server_add(c, 2, 2, &sum), 0);
	hv_conn_close(c);
}

struct async_rec {
	char tags[64][8];
	unsigned n;
	int status[64];
};

static void hold_done(hv_conn *c, int status, const test_server_hold_rep *rep, void *ud)
{
	struct async_rec *rec = ud;
	rec->status[rec->n] = status;
	if (status == 0)
		snprintf(rec->tags[rec->n], sizeof(rec->tags[0]), "%s", rep->tag);
	rec->n++;
}

static void test_async_out_of_order(void)
{
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	struct async_rec rec = {0};
	for (int i = 0; i < 50; i++) {
		char tag[8];
		snprintf(tag, sizeof(tag), "t%d", i);
		REQUIRE_EQ(test_server_hold_async(c, tag, hold_done, &rec), 0);
	}
	/* A sync call in between: the server holds the 50 and answers this. */
	int32_t sum;
	REQUIRE_EQ(test_server_add(c, 20, 22, &sum), 0);
	REQUIRE_EQ(sum, 42);
	REQUIRE_EQ(rec.n, 0);
	REQUIRE_EQ(test_server_release(c), 0);
	while (rec.n < 50)
		spin(loop);
	/* Released in reverse: each reply still matched its own request. */
	for (int i = 0; i < 50; i++) {
		char want[8];
		snprintf(want, sizeof(want), "t%d", 49 - i);
		REQUIRE_EQ(rec.status[i], 0);
		REQUIRE(strcmp(rec.tags[i], want) == 0);
	}
	hv_conn_close(c);
	hv_loop_free(loop);
}

static void test_portal(void)
{
	char buf[300];
	setenv("HAVEN_PORTAL_DIR", test_tmpdir(), 1);
	REQUIRE_EQ(hv_portal_path("test.sock", buf, sizeof(buf)), 0);
	REQUIRE(strcmp(buf, sock) == 0);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_connect_portal(NULL, "test.sock", &c), 0);
	int32_t sum;
	REQUIRE_EQ(test_server_add(c, 3, 4, &sum), 0);
	hv_conn_close(c);
	REQUIRE_EQ(hv_conn_connect_portal(NULL, "nobody-listens-here", &c), -ENOENT);
	REQUIRE_EQ(hv_portal_path("../escape", buf, sizeof(buf)), -EINVAL);
	unsetenv("HAVEN_PORTAL_DIR");
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	REQUIRE_EQ(hv_portal_path("config", buf, sizeof(buf)), 0);
	REQUIRE(strcmp(buf, "/run/user/1000/haven/portal/config") == 0);
	unsetenv("XDG_RUNTIME_DIR");
	REQUIRE_EQ(hv_portal_path("config", buf, sizeof(buf)), 0);
	REQUIRE(strcmp(buf, "/run/haven/portal/config") == 0);
}

static void test_held_after_disconnect(void)
{
	/* A client leaves while the server holds its calls; another client's
	 * release makes the server answer into the void (must be harmless). */
	hv_loop *loop;
	hv_conn *a;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, sock, &a), 0);
	struct async_rec rec = {0};
	for (int i = 0; i < 5; i++)
		REQUIRE_EQ(test_server_hold_async(a, "gone", hold_done, &rec), 0);
	REQUIRE_EQ(test_server_echo(a, "holds are in", NULL), 0);
	hv_conn_close(a);
	REQUIRE_EQ(rec.n, 5);
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
	hv_conn *b = connect_loopless();
	REQUIRE_EQ(test_server_release(b), 0);
	int32_t sum;
	REQUIRE_EQ(test_server_add(b, 1, 2, &sum), 0);
	REQUIRE_EQ(sum, 3);
	hv_conn_close(b);
}

static void test_oneway_and_events(void)
{
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	REQUIRE_EQ(hv_conn_serve(c, &test_client_endpoint, &tc_handlers), 0);
	memset(&test_client_state, 0, sizeof(test_client_state));
	for (uint64_t i = 0; i < 2000; i++)
		REQUIRE_EQ(test_server_ping(c, i), 0);
	/* The sync call flushes the pings; the pongs arrive before its reply
	 * and are queued, then dispatched by the loop in order. */
	REQUIRE_EQ(test_server_echo(c, "after pings", NULL), 0);
	REQUIRE_EQ(test_client_state.npongs, 0);
	while (test_client_state.npongs < 2000)
		spin(loop);
	for (unsigned i = 0; i < 2000; i++)
		REQUIRE_EQ(test_client_state.pongs[i], i);
	hv_conn_close(c);
	hv_loop_free(loop);

	/* Loop-less: events are read by hv_conn_dispatch. */
	c = connect_loopless();
	REQUIRE_EQ(hv_conn_serve(c, &test_client_endpoint, &tc_handlers), 0);
	memset(&test_client_state, 0, sizeof(test_client_state));
	REQUIRE_EQ(test_server_ping(c, 77), 0);
	while (test_client_state.npongs < 1)
		REQUIRE(hv_conn_dispatch(c, 10000) >= 0);
	REQUIRE_EQ(test_client_state.pongs[0], 77);
	hv_conn_close(c);
}

static uint64_t sunk(hv_conn *c)
{
	uint64_t v = 0;
	REQUIRE_EQ(test_server_sunk(c, &v), 0);
	return v;
}

static void count_reply(hv_conn *c, int status, const test_server_sleep_rep *rep, void *ud)
{
	(*(int *)ud)++;
}

static void test_backpressure(void)
{
	/* A client that sends 32 MiB of one-way messages without turning its
	 * loop, with an 8 MiB outgoing limit: it waits for the server to read
	 * instead of queueing it all (which would be over its limit), and
	 * every byte arrives. */
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	hv_conn_set_limits(c, HV_IPC_MAX_QUEUED_BYTES, HV_IPC_MAX_QUEUED_FDS, 8u << 20);
	uint64_t before = sunk(c);
	/* Keep the server busy (not reading) for a while first. */
	int slept = 0;
	REQUIRE_EQ(test_server_sleep_async(c, 300, count_reply, &slept), 0);
	static uint8_t chunk[16384];
	for (int i = 0; i < 2048; i++)
		REQUIRE_EQ(test_server_sink(c, (hv_bytes){.data = chunk, .len = sizeof(chunk)}), 0);
	REQUIRE_EQ(sunk(c) - before, 2048 * sizeof(chunk));
	REQUIRE(hv_conn_is_open(c));
	hv_conn_close(c);
	REQUIRE_EQ(slept, 1);
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
}

/* Both ends of a socketpair send 32 MiB to each other before either turns
 * its loop: each blocks in backpressure but keeps reading, so neither
 * waits forever on a full socket. */
static void mutual_flood(hv_conn *c)
{
	static uint8_t chunk[16384];
	for (int i = 0; i < 2048; i++)
		REQUIRE_EQ(test_server_sink(c, (hv_bytes){.data = chunk, .len = sizeof(chunk)}), 0);
	/* The loop sends the rest while it receives. */
	for (int turns = 0; test_sunk_bytes() < 2048 * sizeof(chunk); turns++) {
		REQUIRE(turns < 3000);
		REQUIRE(hv_loop_run_once(hv_conn_loop(c), 20) >= 0);
	}
	/* All of the peer's data is here; ours may still be queued: the peer
	 * keeps reading until it has it all. */
	REQUIRE_EQ(hv_conn_flush(c), 0);
}

/* Events are dispatched straight from the read buffer (no copy). A handler
 * that makes a sync call on the same connection makes it read more while
 * the event's views point into that buffer, with later events still
 * unparsed behind it: the views must stay intact (the runtime moves on to
 * a fresh buffer). The flood's blobs are zeros; a moved or reused buffer
 * would show frame headers (or ASan a use after free). */
struct reentrant_rec {
	unsigned blobs, calls;
	bool bad;
};
static struct reentrant_rec reentrant;

static int reentrant_dispatch(hv_call *call, hv_msg *msg, const void *handlers)
{
	(void)handlers;
	if (hv_msg_id(msg) != TEST_CLIENT_MSG_BLOB)
		return -EBADMSG;
	hv_dec d;
	hv_bytes b;
	bool present;
	hv_dec_init(&d, msg);
	hv_dec_bytes(&d, &b);
	hv_dec_present(&d, &present);
	if (hv_dec_finish(&d) < 0)
		return d.err;
	if (reentrant.blobs++ % 7 == 0) {
		const char *back = NULL;
		if (test_server_echo(hv_call_conn(call), "in a handler", &back) < 0 || strcmp(back, "in a handler") != 0)
			reentrant.bad = true;
		reentrant.calls++;
	}
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] != 0)
			reentrant.bad = true;
	return 0;
}

static void test_sync_call_in_handler(void)
{
	/* TestClient's magic, this test's dispatch. */
	static hv_endpoint ep = {.name = "TestClient", .message_count = TEST_CLIENT_MSG_BLOB, .dispatch = reentrant_dispatch};
	ep.magic = test_client_endpoint.magic;
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	REQUIRE_EQ(hv_conn_serve(c, &ep, NULL), 0);
	reentrant = (struct reentrant_rec){0};
	REQUIRE_EQ(test_server_flood(c, 300, 1000, false), 0);
	while (reentrant.blobs < 300 && hv_conn_is_open(c))
		spin(loop);
	REQUIRE_EQ(reentrant.blobs, 300);
	REQUIRE(reentrant.calls > 1);
	REQUIRE(!reentrant.bad);
	REQUIRE(hv_conn_is_open(c));
	hv_conn_close(c);
	hv_loop_free(loop);
}

static void test_mutual_flood(void)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	int fd = pid == 0 ? sv[1] : sv[0];
	close(pid == 0 ? sv[0] : sv[1]);
	alarm(120); /* a deadlock fails the test instead of hanging it */
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_from_fd(loop, fd, &c), 0);
	REQUIRE_EQ(hv_conn_serve(c, &test_server_endpoint, &ts_handlers), 0);
	mutual_flood(c);
	if (pid == 0)
		_exit(0);
	int st;
	REQUIRE(waitpid(pid, &st, 0) == pid);
	REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	alarm(0);
	hv_conn_close(c);
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
}

static void test_broadcast(void)
{
	/* Events from hv_server_foreach reach every client. */
	hv_conn *a = connect_loopless(), *b = connect_loopless();
	REQUIRE_EQ(hv_conn_serve(a, &test_client_endpoint, &tc_handlers), 0);
	REQUIRE_EQ(hv_conn_serve(b, &test_client_endpoint, &tc_handlers), 0);
	REQUIRE_EQ(test_server_echo(b, "b is connected", NULL), 0);
	memset(&test_client_state, 0, sizeof(test_client_state));
	REQUIRE_EQ(test_server_broadcast(a, 4242), 0);
	for (int i = 0; test_client_state.npongs < 1; i++)
		REQUIRE(i < 6 && hv_conn_dispatch(a, 10000) >= 0);
	for (int i = 0; test_client_state.npongs < 2; i++)
		REQUIRE(i < 6 && hv_conn_dispatch(b, 10000) >= 0);
	REQUIRE(test_client_state.pongs[0] == 4242 && test_client_state.pongs[1] == 4242);
	hv_conn_close(a);
	hv_conn_close(b);
}

static void test_fd_passing(void)
{
	hv_conn *c = connect_loopless();
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	REQUIRE(write(p[1], "through a pipe", 14) == 14);
	close(p[1]);
	hv_buffer b;
	REQUIRE_EQ(hv_buffer_create(1000, &b), 0);
	uint64_t want = 0;
	for (int i = 0; i < 1000; i++) {
		((uint8_t *)b.data)[i] = (uint8_t)(i * 3);
		want += (uint8_t)(i * 3);
	}
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_PASS_FDS, HV_MSG_REQUEST);
	hv_enc_fd(&e, p[0]);
	hv_enc_buffer(&e, &b);
	REQUIRE_EQ(hv_conn_call(c, &e, -1, &reply), 0);
	hv_dec d;
	const char *text;
	uint64_t sum;
	hv_dec_init(&d, reply);
	hv_dec_string(&d, &text);
	hv_dec_u64(&d, &sum);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE(strcmp(text, "through a pipe") == 0);
	REQUIRE(sum == want);
	/* Sending did not take our fds. */
	REQUIRE(fcntl(p[0], F_GETFD) >= 0);
	close(p[0]);
	hv_buffer_release(&b);

	/* An fd in a reply belongs to the caller (hv_msg_give_all). */
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_GET_PIPE, HV_MSG_REQUEST);
	hv_enc_string(&e, "from the server");
	REQUIRE_EQ(hv_conn_call(c, &e, -1, &reply), 0);
	hv_msg_give_all(reply);
	int fd;
	hv_dec_init(&d, reply);
	hv_dec_fd(&d, &fd);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE(fcntl(fd, F_GETFD) & FD_CLOEXEC); /* MSG_CMSG_CLOEXEC */
	int32_t s;
	REQUIRE_EQ(test_server_add(c, 1, 2, &s), 0); /* frees the reply, not the given fd */
	char buf[64] = {0};
	REQUIRE_EQ(read(fd, buf, sizeof(buf)), 15);
	REQUIRE(strcmp(buf, "from the server") == 0);
	close(fd);

	/* A sealed read-only buffer made by the server. */
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_MAKE_BUFFER, HV_MSG_REQUEST);
	hv_enc_u32(&e, 5000);
	REQUIRE_EQ(hv_conn_call(c, &e, -1, &reply), 0);
	hv_msg_give_all(reply);
	hv_buffer rb;
	hv_dec_init(&d, reply);
	hv_dec_buffer(&d, &rb);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE(rb.readonly && rb.size == 5000 && ((uint8_t *)rb.data)[4999] == (uint8_t)(4999 * 7));
	hv_buffer_release(&rb);

	/* Bitmap. */
	hv_bitmap bm;
	REQUIRE_EQ(hv_bitmap_create(16, 8, HV_PIXEL_BGRA8888, &bm), 0);
	memset(bm.buffer.data, 1, bm.buffer.size);
	hv_enc_init(&e, &test_server_endpoint, TEST_SERVER_MSG_BITMAP, HV_MSG_REQUEST);
	hv_enc_bitmap(&e, &bm);
	REQUIRE_EQ(hv_conn_call(c, &e, -1, &reply), 0);
	hv_dec_init(&d, reply);
	hv_dec_u64(&d, &sum);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE_EQ(sum, 16 * 8 * 4);
	hv_bitmap_release(&bm);
	hv_conn_close(c);
}

static void test_timeout(void)
{
	hv_conn *c = connect_loopless();
	hv_conn_set_timeout(c, 50);
	REQUIRE_EQ(test_server_sleep(c, 1500), -ETIMEDOUT);
	REQUIRE(!hv_conn_last_error(c)->remote);
	/* The late reply is dropped (not misbehaviour); the next call works. */
	hv_conn_set_timeout(c, -1);
	int32_t s;
	REQUIRE_EQ(test_server_add(c, 5, 6, &s), 0);
	REQUIRE_EQ(s, 11);
	REQUIRE(hv_conn_is_open(c));
	hv_conn_close(c);
}

static int async_status = 1;
static void crash_done(hv_conn *c, int status, const test_server_hold_rep *rep, void *ud)
{
	async_status = status;
	REQUIRE(rep == NULL);
}

static void test_peer_killed(void)
{
	/* Sync: the server dies in the handler. */
	char path[300];
	snprintf(path, sizeof(path), "%s/crash.sock", test_tmpdir());
	pid_t pid = test_server_fork(path, NULL);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_connect(NULL, path, &c), 0);
	int r = test_server_crash(c);
	REQUIRE(r == -ECONNRESET || r == -EPIPE);
	REQUIRE(!hv_conn_is_open(c));
	REQUIRE_EQ(test_server_add(c, 1, 1, NULL), r); /* and stays failed, never hangs */
	hv_conn_close(c);
	waitpid(pid, NULL, 0);

	/* Async: killed from outside while calls are held. */
	pid = test_server_fork(path, NULL);
	hv_loop *loop;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, path, &c), 0);
	struct async_rec rec = {0};
	for (int i = 0; i < 10; i++)
		REQUIRE_EQ(test_server_hold_async(c, "x", hold_done, &rec), 0);
	REQUIRE_EQ(test_server_echo(c, "sync", NULL), 0); /* the holds have arrived */
	test_server_kill(pid);
	while (rec.n < 10)
		spin(loop);
	for (int i = 0; i < 10; i++)
		REQUIRE(rec.status[i] == -ECONNRESET || rec.status[i] == -EPIPE);
	hv_conn_close(c);

	/* Async calls pending when the client closes get their callback. */
	pid = test_server_fork(path, NULL);
	REQUIRE_EQ(hv_conn_connect(loop, path, &c), 0);
	REQUIRE_EQ(test_server_hold_async(c, "y", crash_done, NULL), 0);
	hv_conn_close(c);
	REQUIRE_EQ(async_status, -ECONNRESET);
	test_server_kill(pid);
	/* Deferred calls hold references; hv_loop_free does not run them. */
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
}

static void test_trace(void)
{
	/* In a child with stderr on a pipe: one line per message each way. */
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		/* Re-exec: the trace switch is read once per process. */
		dup2(p[1], 2);
		setenv("HAVEN_IPC_TRACE", "1", 1);
		execl(program_invocation_name, "test-ipc-conn", "--trace-client", sock, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[4096] = {0};
	size_t n = 0;
	ssize_t k;
	while ((k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	REQUIRE(strstr(buf, "send TestServer.echo request id=1 size=11 fds=0"));
	REQUIRE(strstr(buf, "recv TestServer.echo response id=1 size=11 fds=0"));
}

static int trace_client(const char *path)
{
	hv_conn *c;
	if (hv_conn_connect(NULL, path, &c) < 0 || test_server_echo(c, "traced", NULL) < 0)
		return 1;
	hv_conn_close(c);
	return 0;
}

/* Connections watch their socket edge-triggered: a read that stops early
 * (AF_UNIX ends a read at a message carrying fds) or fills its buffer
 * leaves data no new event will announce, so the connection must read
 * again by itself. Many small events with an fd each, then events larger
 * than a read, all reach a loop client (a stall would run out of turns). */
static void flood_and_wait(hv_loop *loop, hv_conn *c, uint32_t count, uint32_t size, bool with_fd)
{
	unsigned before = test_client_state.nblobs;
	REQUIRE_EQ(test_server_flood(c, count, size, with_fd), 0);
	while (test_client_state.nblobs < before + count && hv_conn_is_open(c))
		spin(loop);
	REQUIRE_EQ(test_client_state.nblobs, before + count);
}

static void test_edge_triggered_reads(void)
{
	hv_loop *loop;
	hv_conn *c;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	REQUIRE_EQ(hv_conn_connect(loop, sock, &c), 0);
	REQUIRE_EQ(hv_conn_serve(c, &test_client_endpoint, &tc_handlers), 0);
	memset(&test_client_state, 0, sizeof(test_client_state));
	flood_and_wait(loop, c, 500, 16, true);
	flood_and_wait(loop, c, 20, 200000, false);
	flood_and_wait(loop, c, 50, 100000, true);
	REQUIRE(hv_conn_is_open(c));
	hv_conn_close(c);
	hv_loop_run_once(loop, 0);
	hv_loop_free(loop);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--trace-client") == 0)
		return trace_client(argv[2]);
	signal(SIGPIPE, SIG_IGN);
	snprintf(sock, sizeof(sock), "%s/test.sock", test_tmpdir());
	pid_t srv = test_server_fork(sock, NULL);
	test_sync();
	test_introspect();
	test_portal();
	test_remote_error();
	test_async_out_of_order();
	test_held_after_disconnect();
	test_oneway_and_events();
	test_fd_passing();
	test_edge_triggered_reads();
	test_broadcast();
	test_backpressure();
	test_mutual_flood();
	test_sync_call_in_handler();
	test_timeout();
	test_trace();
	test_peer_killed();
	test_server_kill(srv);
	test_tmp_cleanup();
	printf("test-ipc-conn: ok\n");
	return 0;
}
