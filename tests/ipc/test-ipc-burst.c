/* test-ipc-burst — bursts of one-way messages, which the runtime
 * dispatches straight from its read buffer (conn-call.c, drain_burst):
 * hand-made frames written on a raw socket to a connection serving
 * TestServer on a loop.
 *  - A burst of pings with a request and a different message in the
 *    middle, split into two writes at every byte boundary, is dispatched
 *    whole and in order.
 *  - A malformed message in the middle of a burst (a payload that does
 *    not decode, a one-way frame with a request id, an event from a
 *    client, an unknown message id) ends the peer after the messages
 *    before it were handled, and none after it is.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>
#include <haven/loop.h>

#include "frame.h"
#include "testproto.h"


#define NPINGS 20
static uint64_t seen[4 * NPINGS];
static unsigned nseen, nsunk, nechoed;

static int on_ping(hv_call *call, const test_server_ping_req *req)
{
	if (nseen < HV_ARRAY_SIZE(seen))
		seen[nseen++] = req->seq;
	return 0;
}

static int on_sink(hv_call *call, const test_server_sink_req *req)
{
	nsunk++;
	return 0;
}

static int on_echo(hv_call *call, const test_server_echo_req *req, test_server_echo_rep *rep)
{
	nechoed++;
	rep->text = req->text;
	return 0;
}

/* One frame: header then payload, appended at *len. */
static void frame(uint8_t *buf, size_t *len, uint16_t id, uint8_t kind, uint32_t request_id,
		  const void *payload, uint32_t plen)
{
	hv_frame_hdr h = {.len = plen, .magic = test_server_endpoint.magic, .id = id, .kind = kind,
			  .request_id = request_id};
	hv_frame_hdr_write(buf + *len, &h);
	memcpy(buf + *len + HV_IPC_HEADER_SIZE, payload, plen);
	*len += HV_IPC_HEADER_SIZE + plen;
}

static void ping(uint8_t *buf, size_t *len, uint64_t seq)
{
	frame(buf, len, TEST_SERVER_MSG_PING, HV_MSG_ONEWAY, 0, &seq, sizeof seq);
}

struct peer {
	hv_loop *loop;
	hv_conn *conn;
	int raw;
	bool ended;
};

static void on_gone(hv_conn *c, void *ud) { ((struct peer *)ud)->ended = true; }

static void peer_open(struct peer *p)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	REQUIRE_EQ(hv_loop_new(&p->loop), 0);
	REQUIRE_EQ(hv_conn_from_fd(p->loop, sv[0], &p->conn), 0);
	static test_server_handlers h;
	h = ts_handlers;
	h.ping = on_ping;
	h.sink = on_sink;
	h.echo = on_echo;
	REQUIRE_EQ(hv_conn_serve(p->conn, &test_server_endpoint, &h), 0);
	hv_conn_on_disconnect(p->conn, on_gone, p);
	p->raw = sv[1];
	p->ended = false;
	nseen = nsunk = nechoed = 0;
}

/* Turn the loop until it has nothing left to do. */
static void settle(struct peer *p)
{
	while (hv_loop_run_once(p->loop, 0) > 0)
		;
}

static void peer_close(struct peer *p)
{
	hv_conn_close(p->conn);
	hv_loop_free(p->loop);
	close(p->raw);
}

static void send_all(int fd, const uint8_t *b, size_t n)
{
	REQUIRE_EQ(hv_write_full(fd, b, n), 0);
}

static void test_split_everywhere(void)
{
	static uint8_t buf[4096];
	size_t len = 0;
	for (uint64_t i = 0; i < NPINGS / 2; i++)
		ping(buf, &len, i);
	/* A request (general path), then another message of the endpoint. */
	uint8_t echo[4 + 3] = {2, 0, 0, 0, 'h', 'i', 0}; /* strings end in NUL */
	frame(buf, &len, TEST_SERVER_MSG_ECHO, HV_MSG_REQUEST, 7, echo, sizeof echo);
	uint8_t sink[4 + 3] = {3, 0, 0, 0, 1, 2, 3};
	frame(buf, &len, TEST_SERVER_MSG_SINK, HV_MSG_ONEWAY, 0, sink, sizeof sink);
	for (uint64_t i = NPINGS / 2; i < NPINGS; i++)
		ping(buf, &len, i);
	unsigned bad = 0;
	for (size_t cut = 0; cut <= len; cut++) {
		struct peer p;
		peer_open(&p);
		send_all(p.raw, buf, cut);
		settle(&p);
		send_all(p.raw, buf + cut, len - cut);
		settle(&p);
		bool ok = !p.ended && nseen == NPINGS && nsunk == 1 && nechoed == 1;
		for (unsigned i = 0; ok && i < NPINGS; i++)
			ok = seen[i] == i;
		if (!ok && bad++ < 3)
			CHECK_MSG(ok, "cut at byte %zu: %u pings (in order: %s), %u sinks, %u echoes, %s", cut,
				  nseen, ok ? "yes" : "no", nsunk, nechoed, p.ended ? "ended" : "open");
		peer_close(&p);
	}
	CHECK_EQ(bad, 0);
}

/* pings 0..4, the bad frame, pings 5..9, in one write to a server in
 * this process (its connections are accepted ones: events from them are
 * refused): pings 0..4 handled, the peer ended, nothing after the bad
 * frame handled. */
static bool server_ended;
static void on_server_gone(hv_server *srv, hv_conn *c, void *ud) { server_ended = true; }

static void burst_with(const char *what, uint16_t id, uint8_t kind, uint32_t request_id,
		       const void *payload, uint32_t plen)
{
	static uint8_t buf[4096];
	size_t len = 0;
	for (uint64_t i = 0; i < 5; i++)
		ping(buf, &len, i);
	frame(buf, &len, id, kind, request_id, payload, plen);
	for (uint64_t i = 5; i < 10; i++)
		ping(buf, &len, i);
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	REQUIRE(snprintf(path, sizeof path, "%s/b.sock", test_tmpdir()) < (int)sizeof path);
	hv_loop *loop;
	hv_server *srv;
	REQUIRE_EQ(hv_loop_new(&loop), 0);
	static test_server_handlers h;
	h = ts_handlers;
	h.ping = on_ping;
	h.sink = on_sink;
	REQUIRE_EQ(hv_server_new(loop, &test_server_endpoint, &h, &srv), 0);
	hv_server_on_disconnect(srv, on_server_gone, NULL);
	REQUIRE_EQ(hv_server_listen(srv, path), 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, path, sizeof path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
	send_all(fd, buf, len);
	nseen = nsunk = 0;
	server_ended = false;
	for (int i = 0; i < 200 && !server_ended; i++)
		hv_loop_run_once(loop, 10);
	CHECK_MSG(server_ended, "%s: the peer was not ended", what);
	CHECK_MSG(nseen == 5, "%s: %u pings handled, expected the 5 before it", what, nseen);
	for (unsigned i = 0; i < nseen && i < 5; i++)
		CHECK_EQ(seen[i], i);
	CHECK_EQ(nsunk, 0);
	close(fd);
	hv_server_free(srv);
	hv_loop_free(loop);
	unlink(path);
}

static void test_malformed_in_burst(void)
{
	uint32_t short_seq = 1; /* 4 bytes where ping has a u64 */
	burst_with("short payload", TEST_SERVER_MSG_PING, HV_MSG_ONEWAY, 0, &short_seq, 4);
	uint8_t long_sink[4 + 2] = {9, 0, 0, 0, 1, 2}; /* claims 9 bytes, has 2 */
	burst_with("overlong bytes", TEST_SERVER_MSG_SINK, HV_MSG_ONEWAY, 0, long_sink, sizeof long_sink);
	uint64_t seq = 99;
	burst_with("one-way with a request id", TEST_SERVER_MSG_PING, HV_MSG_ONEWAY, 5, &seq, 8);
	burst_with("an event from a client", TEST_SERVER_MSG_PING, HV_MSG_EVENT, 0, &seq, 8);
	burst_with("unknown message id", 200, HV_MSG_ONEWAY, 0, &seq, 8);
	burst_with("message id 0", 0, HV_MSG_ONEWAY, 0, &seq, 8);
}

int main(void)
{
	hv_log_set_level(HV_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN); /* the echo's reply, to a raw end that closed */
	test_split_everywhere();
	test_malformed_in_burst();
	test_tmp_cleanup();
	return check_result();
}
