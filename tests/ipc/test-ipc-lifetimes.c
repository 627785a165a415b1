/* tests/ipc/test-ipc-lifetimes.c — an adversarial check of lib/ipc's
 * zero-copy lifetimes against a forked server over a real socket: messages
 * dispatched borrowed from the read buffer, held calls answered much later
 * (in reverse) while the buffer is reused and grown, nested sync calls with
 * replies larger than the read buffer, sync replies read after events were
 * dispatched, fds split across reads and at the read-chunk boundary
 * (edge-triggered watch), backpressure both ways, lazy buffers kept or
 * passed on unmapped, a connection closed from its own handler and a client
 * dying with a held call. Every payload carries a checksum checked by its
 * receiver; nothing is timed (timeouts only end hangs). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/loop.h>

#include "msg.h"
#include "testproto.h"

enum {
	RV_PUT = 1, /* (bytes data, u64 sum, Buffer buf, u64 bufsum) held => (u64 sum, u64 bufsum, bytes data) */
	RV_RELEASE, /* () => (u32 count): answers every held PUT, newest first */
	RV_BLOB,    /* (bytes data, u64 sum, Optional<File> fd) =|  fd: a memfd with the same bytes */
	RV_STATS,   /* () => (u64 good, u64 bad, u64 blobs, u64 close_ok, u64 heap_bytes) */
	RV_NESTED,  /* (bytes data, u64 sum, u32 size, u32 seed, bool hold) => (bool outer_ok, bool big_ok)
		     * hold: held after the nested calls, answered by RELEASE as a PUT */
	RV_BIG,     /* (u32 size, u32 seed) => (bytes data) */
	RV_SPRAY,   /* (u32 before, u32 after, u32 size, u32 seed) => (bytes data): events around the reply */
	RV_CLOSE,   /* (bytes data, u64 sum) => (): closes its connection, then reads data */
	RV_KEEP,    /* (Buffer b, u64 sum) => (): takes b unmapped for later */
	RV_CHECK,   /* () => (u32 kept, u32 ok): maps what KEEP took */
	RV_BOUNCE,  /* (Buffer b) => (Buffer b): passed back unmapped */
	RV_WAIT,    /* (File fd) =|  blocks the server until fd is readable */
	RV_FLOOD,   /* (u32 count, u32 size, u32 seed) =|  count BLOB events back */
	RV_COUNT = RV_FLOOD
};
static const char *const rv_names[] = {"put",	 "release", "blob",  "stats",  "nested",
				       "big",	 "spray",   "close", "keep",   "check",
				       "bounce", "wait",    "flood"};
static int rv_dispatch(hv_call *call, hv_msg *msg, const void *handlers);
static const hv_endpoint rv_ep = {
	.name = "Review",
	.magic = 0x52657669u,
	.message_count = RV_COUNT,
	.message_names = rv_names,
	.dispatch = rv_dispatch,
};

#define HANG_MS 60000

/* --- payloads ------------------------------------------------------------ */
static uint64_t fnv(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 1099511628211ull;
	return h;
}

static uint8_t *pattern(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n ? n : 1);
	REQUIRE(p);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
	return p;
}

static int memfd_with(const void *data, size_t n)
{
	int fd = memfd_create("rv", MFD_CLOEXEC);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, data, n) == (ssize_t)n);
	return fd;
}

/* --- what each side counts ------------------------------------------------ */
static struct {
	uint64_t good, bad, blobs, close_ok;
} st;

static struct {
	hv_call *call;
	hv_bytes view;
	uint64_t sum, bufsum;
	hv_buffer buf;
} held[1024];
static unsigned nheld;
static hv_buffer kept[64];
static uint64_t kept_sum[64];
static unsigned nkept;

static void count(bool ok)
{
	if (ok)
		st.good++;
	else
		st.bad++;
}

static int reply_bytes(hv_call *call, const void *data, size_t n)
{
	hv_enc e;
	hv_call_reply_init(call, &e);
	hv_enc_bytes(&e, data, n);
	return hv_call_respond(call, &e);
}

static void send_blob(hv_conn *c, uint32_t size, uint32_t seed, bool with_fd)
{
	_hv_free_ uint8_t *p = pattern(size, seed);
	hv_enc e;
	hv_enc_init(&e, &rv_ep, RV_BLOB, HV_MSG_ONEWAY);
	hv_enc_bytes(&e, p, size);
	hv_enc_u64(&e, fnv(p, size));
	hv_enc_present(&e, with_fd);
	int fd = with_fd ? memfd_with(p, size) : -1;
	if (with_fd)
		hv_enc_fd(&e, fd);
	hv_conn_send(c, &e);
	if (fd >= 0)
		close(fd);
}

/* Set: the next BLOB's handler closes its connection before reading it. */
static bool close_on_blob, closed_on_blob;

static int on_blob(hv_call *call, hv_dec *d)
{
	hv_bytes b;
	uint64_t sum;
	bool present;
	int fd = -1;
	hv_dec_bytes(d, &b);
	hv_dec_u64(d, &sum);
	if (hv_dec_present(d, &present) && present)
		hv_dec_fd(d, &fd);
	if (hv_dec_finish(d) < 0)
		return d->err;
	if (close_on_blob) {
		close_on_blob = false;
		closed_on_blob = true;
		hv_conn_close(hv_call_conn(call));
	}
	st.blobs++;
	count(fnv(b.data, b.len) == sum);
	if (fd >= 0) {
		uint8_t *p = malloc(b.len ? b.len : 1);
		REQUIRE(p);
		count(pread(fd, p, b.len, 0) == (ssize_t)b.len && fnv(p, b.len) == sum);
		free(p);
	}
	return 0;
}

static int big_call(hv_conn *c, uint32_t size, uint32_t seed, hv_bytes *out)
{
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &rv_ep, RV_BIG, HV_MSG_REQUEST);
	hv_enc_u32(&e, size);
	hv_enc_u32(&e, seed);
	int r = hv_conn_call(c, &e, HANG_MS, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_bytes(&d, out);
	return hv_dec_finish(&d);
}

/* Heap in use (glibc's view: under ASan or valgrind, whose allocators it
 * does not see, it stays flat and the bound below holds trivially). */
static uint64_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static int rv_dispatch(hv_call *call, hv_msg *msg, const void *handlers)
{
	(void)handlers;
	hv_dec d;
	hv_enc e;
	hv_dec_init(&d, msg);
	hv_conn *c = hv_call_conn(call);
	switch (hv_msg_id(msg)) {
	case RV_PUT: {
		hv_bytes b;
		uint64_t sum, bufsum;
		hv_buffer buf;
		hv_dec_bytes(&d, &b);
		hv_dec_u64(&d, &sum);
		hv_dec_buffer(&d, &buf);
		hv_dec_u64(&d, &bufsum);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		REQUIRE(nheld < HV_ARRAY_SIZE(held));
		hv_call *k = hv_call_hold(call);
		REQUIRE(k);
		held[nheld++] = (typeof(held[0])){.call = k, .view = b, .sum = sum, .bufsum = bufsum, .buf = buf};
		return HV_IPC_DEFERRED;
	}
	case RV_RELEASE: {
		if (hv_dec_finish(&d) < 0)
			return d.err;
		uint32_t n = nheld;
		while (nheld) {
			typeof(held[0]) *h = &held[--nheld];
			uint64_t now = fnv(h->view.data, h->view.len), bufnow = 0;
			count(now == h->sum);
			if (h->buf.fd >= 0) {
				/* Lazy (the server's default here): mapped only now. */
				count(hv_call_map_buffer(h->call, &h->buf) == 0 && h->buf.data);
				if (h->buf.data)
					bufnow = fnv(h->buf.data, h->buf.size);
				count(bufnow == h->bufsum);
			}
			hv_call_reply_init(h->call, &e);
			hv_enc_u64(&e, now);
			hv_enc_u64(&e, bufnow);
			hv_enc_bytes(&e, h->view.data, h->view.len);
			hv_call_respond(h->call, &e); /* -ECONNRESET for a client gone: fine */
		}
		hv_call_reply_init(call, &e);
		hv_enc_u32(&e, n);
		return hv_call_respond(call, &e);
	}
	case RV_BLOB:
		return on_blob(call, &d);
	case RV_STATS:
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_call_reply_init(call, &e);
		hv_enc_u64(&e, st.good);
		hv_enc_u64(&e, st.bad);
		hv_enc_u64(&e, st.blobs);
		hv_enc_u64(&e, st.close_ok);
		hv_enc_u64(&e, heap_bytes());
		return hv_call_respond(call, &e);
	case RV_NESTED: {
		hv_bytes b, big;
		uint64_t sum;
		uint32_t size, seed;
		hv_dec_bytes(&d, &b);
		hv_dec_u64(&d, &sum);
		hv_dec_u32(&d, &size);
		hv_dec_u32(&d, &seed);
		bool hold;
		hv_dec_bool(&d, &hold);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		_hv_free_ uint8_t *want = pattern(size, seed);
		bool big_ok = true, outer_ok = true;
		/* Two nested calls back to the client on this same connection:
		 * the second one ends the first reply's life; the request's own
		 * views must survive both. */
		for (int i = 0; i < 2; i++) {
			int r = big_call(c, size, seed, &big);
			big_ok = big_ok && r == 0 && big.len == size && !memcmp(big.data, want, size);
			outer_ok = outer_ok && fnv(b.data, b.len) == sum;
		}
		if (hold) {
			/* Held while the nested reply, not this request, is what
			 * the read buffer lends out. */
			count(outer_ok && big_ok);
			REQUIRE(nheld < HV_ARRAY_SIZE(held));
			hv_call *k = hv_call_hold(call);
			REQUIRE(k);
			held[nheld++] = (typeof(held[0])){.call = k, .view = b, .sum = sum, .buf = HV_BUFFER_EMPTY};
			return HV_IPC_DEFERRED;
		}
		hv_call_reply_init(call, &e);
		hv_enc_bool(&e, outer_ok);
		hv_enc_bool(&e, big_ok);
		return hv_call_respond(call, &e);
	}
	case RV_BIG: {
		uint32_t size, seed;
		hv_dec_u32(&d, &size);
		hv_dec_u32(&d, &seed);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		_hv_free_ uint8_t *p = pattern(size, seed);
		return reply_bytes(call, p, size);
	}
	case RV_SPRAY: {
		uint32_t before, after, size, seed;
		hv_dec_u32(&d, &before);
		hv_dec_u32(&d, &after);
		hv_dec_u32(&d, &size);
		hv_dec_u32(&d, &seed);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		for (uint32_t i = 0; i < before; i++)
			send_blob(c, size / 3 + i, seed + 1 + i, i % 2);
		_hv_free_ uint8_t *p = pattern(size, seed);
		int r = reply_bytes(call, p, size);
		for (uint32_t i = 0; i < after; i++)
			send_blob(c, size / 2 + i, seed + 1000 + i, i % 2 == 0);
		return r;
	}
	case RV_CLOSE: {
		hv_bytes b;
		uint64_t sum;
		hv_dec_bytes(&d, &b);
		hv_dec_u64(&d, &sum);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_conn_close(c);
		/* The message (borrowed from the read buffer) must outlive its
		 * connection's end until the handler returns. */
		if (fnv(b.data, b.len) == sum)
			st.close_ok++;
		else
			st.bad++;
		return 0;
	}
	case RV_KEEP: {
		hv_buffer b;
		uint64_t sum;
		hv_dec_buffer(&d, &b);
		hv_dec_u64(&d, &sum);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		REQUIRE(nkept < HV_ARRAY_SIZE(kept));
		REQUIRE(hv_call_take_buffer(call, &b) == 0);
		kept_sum[nkept] = sum;
		kept[nkept++] = b;
		hv_call_reply_init(call, &e);
		return hv_call_respond(call, &e);
	}
	case RV_CHECK: {
		if (hv_dec_finish(&d) < 0)
			return d.err;
		uint32_t ok = 0, n = nkept;
		for (unsigned i = 0; i < nkept; i++) {
			if (hv_buffer_map(&kept[i]) == 0 && kept[i].data &&
			    fnv(kept[i].data, kept[i].size) == kept_sum[i])
				ok++;
			hv_buffer_release(&kept[i]);
		}
		nkept = 0;
		hv_call_reply_init(call, &e);
		hv_enc_u32(&e, n);
		hv_enc_u32(&e, ok);
		return hv_call_respond(call, &e);
	}
	case RV_BOUNCE: {
		hv_buffer b;
		hv_dec_buffer(&d, &b);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		count(b.data == NULL); /* lazy: passed on as received */
		hv_call_reply_init(call, &e);
		hv_enc_buffer(&e, &b);
		return hv_call_respond(call, &e);
	}
	case RV_WAIT: {
		int fd;
		hv_dec_fd(&d, &fd);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		count(poll(&p, 1, HANG_MS) == 1);
		return 0;
	}
	case RV_FLOOD: {
		uint32_t n, size, seed;
		hv_dec_u32(&d, &n);
		hv_dec_u32(&d, &size);
		hv_dec_u32(&d, &seed);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		for (uint32_t i = 0; i < n; i++)
			send_blob(c, size + i % 97, seed + i, i % 7 == 0);
		return 0;
	}
	}
	return -EBADMSG;
}

/* --- the server process ---------------------------------------------------- */
static void on_client_gone(hv_server *s, hv_conn *c, void *userdata)
{
	(void)s, (void)c, (void)userdata;
}

static pid_t server_fork(const char *path)
{
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_IGN);
		hv_loop *loop;
		hv_server *s;
		if (hv_loop_new(&loop) < 0 || hv_server_new(loop, &rv_ep, NULL, &s) < 0 ||
		    hv_server_listen(s, path) < 0)
			_exit(10);
		hv_server_set_lazy_buffers(s, true);
		hv_server_on_disconnect(s, on_client_gone, NULL);
		(void)!write(p[1], "R", 1);
		close(p[1]);
		close(p[0]);
		hv_loop_quit_on_signals(loop);
		hv_loop_run(loop);
		/* Answer what is still held (clients gone) into the void. */
		while (nheld) {
			typeof(held[0]) *h = &held[--nheld];
			hv_call_respond_error(h->call, -ECANCELED, NULL);
		}
		for (unsigned i = 0; i < nkept; i++)
			hv_buffer_release(&kept[i]);
		hv_server_free(s);
		hv_loop_free(loop);
		_exit(st.bad ? 20 : 0);
	}
	close(p[1]);
	char b;
	REQUIRE(read(p[0], &b, 1) == 1);
	close(p[0]);
	return pid;
}

/* SIGTERM (a clean exit, so valgrind and ASan check the server too) and
 * its status: 0 when it counted nothing bad. */
static int server_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static hv_loop *loop;
static char path[128];

static hv_conn *connect_rv(void)
{
	hv_conn *c;
	REQUIRE(hv_conn_connect(loop, path, &c) == 0);
	REQUIRE(hv_conn_serve(c, &rv_ep, NULL) == 0);
	hv_conn_set_timeout(c, HANG_MS);
	return c;
}

/* Turn the loop until *done (a hang ends the test, it never passes). */
static void run_until(const bool *done)
{
	uint64_t end = hv_now_ns() + (uint64_t)HANG_MS * 1000000u;
	while (!*done) {
		REQUIRE(hv_now_ns() < end);
		hv_loop_run_once(loop, 100);
	}
}

static void run_until_blobs(uint64_t n)
{
	uint64_t end = hv_now_ns() + (uint64_t)HANG_MS * 1000000u;
	while (st.blobs < n) {
		REQUIRE(hv_now_ns() < end);
		hv_loop_run_once(loop, 100);
	}
}

struct stats {
	uint64_t good, bad, blobs, close_ok, heap;
};

static struct stats stats(hv_conn *c)
{
	hv_enc e;
	hv_msg *reply;
	struct stats s = {0};
	hv_enc_init(&e, &rv_ep, RV_STATS, HV_MSG_REQUEST);
	REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_u64(&d, &s.good);
	hv_dec_u64(&d, &s.bad);
	hv_dec_u64(&d, &s.blobs);
	hv_dec_u64(&d, &s.close_ok);
	hv_dec_u64(&d, &s.heap);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	return s;
}

/* --- held calls answered late, in reverse, while more arrives ------------- */
struct put_result {
	bool done;
	int status;
	uint64_t sum, bufsum, echo_sum;
};

static void put_done(hv_conn *c, int status, hv_msg *reply, void *userdata)
{
	(void)c;
	struct put_result *p = userdata;
	p->done = true;
	p->status = status;
	if (status == 0) {
		hv_dec d;
		hv_bytes b = {0};
		hv_dec_init(&d, reply);
		hv_dec_u64(&d, &p->sum);
		hv_dec_u64(&d, &p->bufsum);
		hv_dec_bytes(&d, &b);
		if (hv_dec_finish(&d) < 0)
			p->status = d.err;
		else
			p->echo_sum = fnv(b.data, b.len);
	}
}

static void test_held_in_reverse(void)
{
	hv_conn *c = connect_rv();
	enum { N = 24 };
	struct put_result res[N] = {0};
	uint64_t want[N], wantbuf[N];
	uint64_t blobs_sent = 0;
	for (unsigned i = 0; i < N; i++) {
		/* Sizes around and far beyond the 64 KiB read chunk, so the
		 * read buffer is handed over, reused and grown meanwhile. */
		size_t size = i % 3 == 0 ? 1000 + i : i % 3 == 1 ? 65536 - 16 - 4 + i : 300000 + i * 7;
		_hv_free_ uint8_t *p = pattern(size, 100 + i);
		want[i] = fnv(p, size);
		hv_buffer buf = HV_BUFFER_EMPTY;
		wantbuf[i] = 0;
		if (i % 2 == 0) {
			size_t bs = 4096 * (1 + i % 5);
			REQUIRE(hv_buffer_create(bs, &buf) == 0);
			_hv_free_ uint8_t *q = pattern(bs, 500 + i);
			memcpy(buf.data, q, bs);
			wantbuf[i] = fnv(q, bs);
		}
		hv_enc e;
		hv_enc_init(&e, &rv_ep, RV_PUT, HV_MSG_REQUEST);
		hv_enc_bytes(&e, p, size);
		hv_enc_u64(&e, want[i]);
		hv_enc_buffer(&e, &buf);
		hv_enc_u64(&e, wantbuf[i]);
		REQUIRE_EQ(hv_conn_call_async(c, &e, put_done, &res[i]), 0);
		hv_buffer_release(&buf);
		/* More messages, with fds, between the held ones. */
		for (unsigned j = 0; j < 3; j++, blobs_sent++)
			send_blob(c, 70000 * (j == 2) + 10 + j, 7000 + i * 3 + j, j != 1);
		if (i % 4 == 3)
			hv_loop_run_once(loop, 0);
	}
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &rv_ep, RV_RELEASE, HV_MSG_REQUEST);
	REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
	uint32_t n = 0;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_u32(&d, &n);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	CHECK_EQ(n, (uint32_t)N);
	for (unsigned i = 0; i < N; i++) {
		run_until(&res[i].done);
		CHECK_EQ(res[i].status, 0);
		CHECK_MSG(res[i].sum == want[i], "held call %u: request view changed", i);
		CHECK_MSG(res[i].echo_sum == want[i], "held call %u: echoed bytes differ", i);
		CHECK_MSG(res[i].bufsum == wantbuf[i], "held call %u: buffer differs", i);
	}
	struct stats s = stats(c);
	CHECK_EQ(s.bad, 0u);
	CHECK(s.blobs >= blobs_sent);
	hv_conn_close(c);
}

/* --- nested sync calls with replies beyond the read buffer ---------------- */
struct nested_result {
	bool done;
	int status;
	bool outer_ok, big_ok;
};

static void nested_done(hv_conn *c, int status, hv_msg *reply, void *userdata)
{
	(void)c;
	struct nested_result *n = userdata;
	n->done = true;
	n->status = status;
	if (status == 0) {
		hv_dec d;
		hv_dec_init(&d, reply);
		hv_dec_bool(&d, &n->outer_ok);
		hv_dec_bool(&d, &n->big_ok);
		if (hv_dec_finish(&d) < 0)
			n->status = d.err;
	}
}

static void test_nested_large(void)
{
	hv_conn *c = connect_rv();
	static const uint32_t outer[] = {100, 40000, 65536 - 36, 200000};
	static const uint32_t inner[] = {10, 65536, 300000, 2u << 20};
	for (unsigned i = 0; i < HV_ARRAY_SIZE(outer); i++)
		for (unsigned j = 0; j < HV_ARRAY_SIZE(inner); j++) {
			_hv_free_ uint8_t *p = pattern(outer[i], i * 10 + j);
			struct nested_result r = {0};
			hv_enc e;
			hv_enc_init(&e, &rv_ep, RV_NESTED, HV_MSG_REQUEST);
			hv_enc_bytes(&e, p, outer[i]);
			hv_enc_u64(&e, fnv(p, outer[i]));
			hv_enc_u32(&e, inner[j]);
			hv_enc_u32(&e, 77 + j);
			hv_enc_bool(&e, false);
			REQUIRE_EQ(hv_conn_call_async(c, &e, nested_done, &r), 0);
			/* Events right behind the request: in the server's same read. */
			send_blob(c, 5000, 9 + j, true);
			run_until(&r.done);
			CHECK_EQ(r.status, 0);
			CHECK_MSG(r.outer_ok, "outer request view broken by nested call (%u, %u)", outer[i],
				  inner[j]);
			CHECK_MSG(r.big_ok, "nested reply broken (%u, %u)", outer[i], inner[j]);
		}
	CHECK_EQ(stats(c).bad, 0u);
	hv_conn_close(c);
}

/* --- a sync reply read after events were dispatched ----------------------- */
static void test_sync_reply_and_events_on(hv_conn *c)
{
	static const uint32_t sizes[] = {64, 20000, 65536 - 20, 65536, 150000};
	for (unsigned i = 0; i < HV_ARRAY_SIZE(sizes); i++) {
		for (uint32_t before = 0; before <= 3; before += 3)
			for (uint32_t after = 0; after <= 5; after += 5) {
				uint32_t seed = i * 100 + before * 10 + after;
				hv_enc e;
				hv_msg *reply;
				hv_enc_init(&e, &rv_ep, RV_SPRAY, HV_MSG_REQUEST);
				hv_enc_u32(&e, before);
				hv_enc_u32(&e, after);
				hv_enc_u32(&e, sizes[i]);
				hv_enc_u32(&e, seed);
				uint64_t blobs0 = st.blobs;
				REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
				hv_bytes b;
				hv_dec d;
				hv_dec_init(&d, reply);
				hv_dec_bytes(&d, &b);
				REQUIRE_EQ(hv_dec_finish(&d), 0);
				_hv_free_ uint8_t *want = pattern(sizes[i], seed);
				CHECK(b.len == sizes[i] && !memcmp(b.data, want, b.len));
				/* Dispatch the events (those queued before the reply and
				 * those read after it) while the reply is still ours. */
				run_until_blobs(blobs0 + before + after);
				CHECK_MSG(b.len == sizes[i] && !memcmp(b.data, want, b.len),
					  "sync reply changed under dispatched events (%u, %u, %u)", sizes[i],
					  before, after);
			}
	}
	CHECK_EQ(st.bad, 0u);
	CHECK_EQ(stats(c).bad, 0u);
}

static void test_sync_reply_and_events(void)
{
	hv_conn *c = connect_rv();
	test_sync_reply_and_events_on(c);
	hv_conn_close(c);
}

/* --- raw frames: fds split across reads and at the read-chunk boundary ---- */
static size_t blob_frame(uint8_t **out, size_t dlen, uint32_t seed, bool with_fd, int *fd)
{
	_hv_free_ uint8_t *p = pattern(dlen, seed);
	hv_enc e;
	hv_enc_init(&e, &rv_ep, RV_BLOB, HV_MSG_ONEWAY);
	hv_enc_bytes(&e, p, dlen);
	hv_enc_u64(&e, fnv(p, dlen));
	hv_enc_present(&e, with_fd);
	*fd = -1;
	if (with_fd) {
		*fd = memfd_with(p, dlen);
		hv_enc_fd(&e, *fd);
	}
	REQUIRE_EQ(e.err, 0);
	hv_enc_finalize(&e, HV_MSG_ONEWAY, 0);
	*out = malloc(e.len);
	REQUIRE(*out);
	memcpy(*out, e.buf, e.len);
	size_t n = e.len;
	hv_enc_release(&e);
	return n;
}

#define BLOB_OVERHEAD (HV_IPC_HEADER_SIZE + 4 + 8 + 1)

static void send_raw(int s, const uint8_t *data, size_t len, int fd)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	while (len) {
		ssize_t n = sendmsg(s, &mh, MSG_NOSIGNAL);
		REQUIRE(n > 0);
		iov.iov_base = (uint8_t *)iov.iov_base + n;
		iov.iov_len -= (size_t)n;
		len -= (size_t)n;
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	}
}

static void test_raw_boundaries(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	static const int offsets[] = {-17, -16, -1, 0, 1, 8, 15, 16, 17, 4096};
	hv_conn *probe = connect_rv();
	uint64_t blobs = stats(probe).blobs;
	hv_conn_close(probe);
	for (unsigned i = 0; i < HV_ARRAY_SIZE(offsets); i++) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		REQUIRE(s >= 0);
		REQUIRE(connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);
		/* Plain frames ending exactly `offset` bytes from the 64 KiB read
		 * chunk, then one with an fd, split in three writes; then more. */
		size_t total = 65536 + (size_t)offsets[i];
		size_t first = total - 3 * 1000 - BLOB_OVERHEAD * 3;
		size_t sizes[4] = {1000, 1000, 1000, first - BLOB_OVERHEAD};
		for (unsigned k = 0; k < 4; k++) {
			uint8_t *f;
			int fd;
			size_t n = blob_frame(&f, sizes[k], i * 10 + k, false, &fd);
			send_raw(s, f, n, -1);
			free(f);
		}
		for (unsigned k = 0; k < 3; k++) {
			uint8_t *f;
			int fd;
			size_t n = blob_frame(&f, k == 1 ? 200000 : 30 + k, i * 10 + 5 + k, true, &fd);
			size_t a = n / 3 + k, b = n / 3;
			send_raw(s, f, a, fd);
			send_raw(s, f + a, b, -1);
			send_raw(s, f + a + b, n - a - b, -1);
			close(fd);
			free(f);
		}
		/* Two fd frames in one write each, back to back, then a plain tail. */
		for (unsigned k = 0; k < 2; k++) {
			uint8_t *f;
			int fd;
			size_t n = blob_frame(&f, 100 + k, i * 10 + 8 + k, true, &fd);
			send_raw(s, f, n, fd);
			close(fd);
			free(f);
		}
		/* Now speak through lib/ipc on the same socket: a stall in the
		 * server's reading would time this call out. */
		hv_conn *c;
		REQUIRE(hv_conn_from_fd(NULL, s, &c) == 0);
		hv_conn_set_timeout(c, HANG_MS);
		struct stats x = stats(c);
		CHECK_EQ(x.bad, 0u);
		CHECK_MSG(x.blobs == blobs + 9, "offset %d: %llu of 9 frames dispatched", offsets[i],
			  (unsigned long long)(x.blobs - blobs));
		blobs = x.blobs;
		hv_conn_close(c);
	}
}

/* --- backpressure both ways ------------------------------------------------ */
static void test_backpressure(void)
{
	hv_conn *c = connect_rv();
	/* Server to client: 12 MiB of events queued at once while this side
	 * does not read; the server's socket fills; then we read it all. */
	uint64_t blobs0 = st.blobs;
	hv_enc e;
	hv_enc_init(&e, &rv_ep, RV_FLOOD, HV_MSG_ONEWAY);
	hv_enc_u32(&e, 400);
	hv_enc_u32(&e, 30000);
	hv_enc_u32(&e, 4242);
	REQUIRE_EQ(hv_conn_send(c, &e), 0);
	REQUIRE_EQ(hv_conn_flush(c), 0);
	run_until_blobs(blobs0 + 400);
	CHECK_EQ(st.bad, 0u);

	/* Client to server: the server blocks in a handler until we write the
	 * pipe, which we do only once ~3 MiB are queued here (our socket is
	 * full); then 6 MiB more, past the backpressure mark. */
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	hv_enc_init(&e, &rv_ep, RV_WAIT, HV_MSG_ONEWAY);
	hv_enc_fd(&e, p[0]);
	REQUIRE_EQ(hv_conn_send(c, &e), 0);
	REQUIRE_EQ(hv_conn_flush(c), 0);
	close(p[0]);
	unsigned n = 0;
	for (; n < 100; n++)
		send_blob(c, 30000 + n, 90000 + n, n % 5 == 0);
	REQUIRE(write(p[1], "x", 1) == 1);
	close(p[1]);
	for (; n < 300; n++)
		send_blob(c, 30000 + n, 90000 + n, n % 5 == 0);
	struct stats s = stats(c);
	CHECK_EQ(s.bad, 0u);
	hv_conn_close(c);
}

/* --- lazy buffers kept past their call, or passed on unmapped -------------- */
static void test_lazy(void)
{
	hv_conn *c = connect_rv();
	enum { N = 6 };
	for (unsigned i = 0; i < N; i++) {
		size_t bs = 4096 * (i + 1);
		hv_buffer b;
		REQUIRE(hv_buffer_create(bs, &b) == 0);
		_hv_free_ uint8_t *q = pattern(bs, 300 + i);
		memcpy(b.data, q, bs);
		if (i % 2)
			REQUIRE(hv_buffer_seal(&b) == 0);
		hv_enc e;
		hv_msg *reply;
		hv_enc_init(&e, &rv_ep, RV_KEEP, HV_MSG_REQUEST);
		hv_enc_buffer(&e, &b);
		hv_enc_u64(&e, fnv(q, bs));
		REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
		hv_buffer_release(&b);
		/* Other traffic between keeping and mapping. */
		send_blob(c, 70000, 600 + i, true);
	}
	hv_enc e;
	hv_msg *reply;
	hv_enc_init(&e, &rv_ep, RV_CHECK, HV_MSG_REQUEST);
	REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
	uint32_t kept_n = 0, ok = 0;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_u32(&d, &kept_n);
	hv_dec_u32(&d, &ok);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	CHECK_EQ(kept_n, (uint32_t)N);
	CHECK_EQ(ok, (uint32_t)N);

	for (unsigned i = 0; i < 4; i++) {
		size_t bs = 8192 * (i + 1);
		hv_buffer b;
		REQUIRE(hv_buffer_create(bs, &b) == 0);
		_hv_free_ uint8_t *q = pattern(bs, 800 + i);
		memcpy(b.data, q, bs);
		REQUIRE(hv_buffer_seal(&b) == 0 || i % 2 == 0);
		hv_enc_init(&e, &rv_ep, RV_BOUNCE, HV_MSG_REQUEST);
		hv_enc_buffer(&e, &b);
		REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
		hv_buffer back;
		hv_dec_init(&d, reply);
		hv_dec_buffer(&d, &back);
		REQUIRE_EQ(hv_dec_finish(&d), 0);
		CHECK(back.data && back.size == bs && !memcmp(back.data, q, bs));
		hv_buffer_release(&b);
	}
	CHECK_EQ(stats(c).bad, 0u);
	hv_conn_close(c);
}

/* --- a connection closed from its own handler ------------------------------ */
static void test_close_in_handler(void)
{
	hv_conn *probe = connect_rv();
	uint64_t before = stats(probe).close_ok;
	for (unsigned i = 0; i < 4; i++) {
		hv_conn *c = connect_rv();
		size_t size = i % 2 ? 100000 : 500;
		_hv_free_ uint8_t *p = pattern(size, 1234 + i);
		hv_enc e;
		hv_enc_init(&e, &rv_ep, RV_CLOSE, HV_MSG_REQUEST);
		hv_enc_bytes(&e, p, size);
		hv_enc_u64(&e, fnv(p, size));
		struct put_result res = {0};
		REQUIRE_EQ(hv_conn_call_async(c, &e, put_done, &res), 0);
		/* Messages behind it, likely in the same read: dropped with the
		 * connection (nothing may touch them once it has ended). */
		for (unsigned j = 0; j < 3; j++)
			send_blob(c, 20000, 50 + j, j == 1);
		hv_conn_flush(c);
		run_until(&res.done);
		CHECK(res.status == -ECONNRESET || res.status == -EPIPE);
		hv_conn_close(c);
	}
	struct stats s = stats(probe);
	CHECK_EQ(s.close_ok, before + 4);
	CHECK_EQ(s.bad, 0u);
	hv_conn_close(probe);
}

/* --- a client that dies while its held call is pending --------------------- */
static void ignore_reply(hv_conn *c, int status, hv_msg *reply, void *userdata)
{
	(void)c, (void)status, (void)reply, (void)userdata;
}

static void test_client_dies_while_held(void)
{
	for (unsigned round = 0; round < 2; round++) {
		pid_t pid = fork();
		REQUIRE(pid >= 0);
		if (pid == 0) {
			hv_conn *c;
			if (hv_conn_connect(NULL, path, &c) < 0)
				_exit(1);
			for (unsigned i = 0; i < 3; i++) {
				_hv_free_ uint8_t *p = pattern(40000 + i, i);
				hv_enc e;
				hv_enc_init(&e, &rv_ep, RV_PUT, HV_MSG_REQUEST);
				hv_enc_bytes(&e, p, 40000 + i);
				hv_enc_u64(&e, fnv(p, 40000 + i));
				hv_enc_buffer(&e, &HV_BUFFER_EMPTY);
				hv_enc_u64(&e, 0);
				/* Async without a loop: sent at once, never answered here. */
				if (hv_conn_call_async(c, &e, ignore_reply, NULL) < 0)
					_exit(3);
			}
			/* Stats is behind the PUTs on this connection: once it is
			 * answered, the server holds all three; then we die. */
			hv_enc e;
			hv_enc_init(&e, &rv_ep, RV_STATS, HV_MSG_REQUEST);
			hv_msg *reply;
			_exit(hv_conn_call(c, &e, HANG_MS, &reply) == 0 ? 0 : 2);
		}
		int status;
		REQUIRE(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		/* A live client holds one too, then releases all (the dead
		 * client's answered into the void), then keeps talking. */
		hv_conn *c = connect_rv();
		struct put_result res = {0};
		_hv_free_ uint8_t *p = pattern(777, 9);
		hv_enc e;
		hv_enc_init(&e, &rv_ep, RV_PUT, HV_MSG_REQUEST);
		hv_enc_bytes(&e, p, 777);
		hv_enc_u64(&e, fnv(p, 777));
		hv_enc_buffer(&e, &HV_BUFFER_EMPTY);
		hv_enc_u64(&e, 0);
		REQUIRE_EQ(hv_conn_call_async(c, &e, put_done, &res), 0);
		hv_msg *reply;
		hv_enc_init(&e, &rv_ep, RV_RELEASE, HV_MSG_REQUEST);
		REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
		uint32_t n = 0;
		hv_dec d;
		hv_dec_init(&d, reply);
		hv_dec_u32(&d, &n);
		REQUIRE_EQ(hv_dec_finish(&d), 0);
		CHECK_EQ(n, 4u);
		run_until(&res.done);
		CHECK_EQ(res.status, 0);
		CHECK_EQ(res.sum, fnv(p, 777));
		CHECK_EQ(stats(c).bad, 0u);
		hv_conn_close(c);
	}
}

/* --- held after nested calls, and held before them ------------------------ */
static void send_nested(hv_conn *c, uint32_t outer, uint32_t inner, uint32_t seed, bool hold,
			hv_reply_cb cb, void *r, uint64_t *sum)
{
	_hv_free_ uint8_t *p = pattern(outer, seed);
	*sum = fnv(p, outer);
	hv_enc e;
	hv_enc_init(&e, &rv_ep, RV_NESTED, HV_MSG_REQUEST);
	hv_enc_bytes(&e, p, outer);
	hv_enc_u64(&e, *sum);
	hv_enc_u32(&e, inner);
	hv_enc_u32(&e, seed + 1);
	hv_enc_bool(&e, hold);
	REQUIRE_EQ(hv_conn_call_async(c, &e, cb, r), 0);
}

struct release_result {
	bool done;
	int status;
	uint32_t n;
};

static void release_done(hv_conn *c, int status, hv_msg *reply, void *userdata)
{
	(void)c;
	struct release_result *r = userdata;
	r->done = true;
	r->status = status;
	if (status == 0) {
		hv_dec d;
		hv_dec_init(&d, reply);
		hv_dec_u32(&d, &r->n);
		if (hv_dec_finish(&d) < 0)
			r->status = d.err;
	}
}

/* Async with the loop turning: the server may be in a nested call back to
 * us for an earlier request (a sync call here would only queue it). */
static uint32_t release(hv_conn *c)
{
	hv_enc e;
	struct release_result r = {0};
	hv_enc_init(&e, &rv_ep, RV_RELEASE, HV_MSG_REQUEST);
	REQUIRE_EQ(hv_conn_call_async(c, &e, release_done, &r), 0);
	run_until(&r.done);
	CHECK_EQ(r.status, 0);
	return r.n;
}

static void test_nested_then_hold(void)
{
	hv_conn *c = connect_rv();
	enum { N = 8 };
	struct put_result res[N] = {0};
	uint64_t want[N];
	for (unsigned i = 0; i < N; i++) {
		send_nested(c, i % 2 ? 90000 : 3000, i % 3 ? 300000 : 100, 40 + i, true, put_done, &res[i],
			    &want[i]);
		send_blob(c, 66000, 4000 + i, true);
	}
	/* RELEASE is behind every NESTED on this connection: all are held. */
	CHECK_EQ(release(c), (uint32_t)N);
	for (unsigned i = 0; i < N; i++) {
		run_until(&res[i].done);
		CHECK_EQ(res[i].status, 0);
		CHECK_MSG(res[i].sum == want[i] && res[i].echo_sum == want[i],
			  "call %u held after nested calls: request view changed", i);
	}
	CHECK_EQ(stats(c).bad, 0u);
	hv_conn_close(c);
}

/* --- a loop-less client: the sync reply outlives hv_conn_dispatch ---------- */
static void test_loopless_spray(void)
{
	hv_conn *c;
	REQUIRE(hv_conn_connect(NULL, path, &c) == 0);
	REQUIRE(hv_conn_serve(c, &rv_ep, NULL) == 0);
	hv_conn_set_timeout(c, HANG_MS);
	for (unsigned i = 0; i < 6; i++) {
		uint32_t size = i % 2 ? 70000 : 900, seed = 7000 + i;
		hv_enc e;
		hv_msg *reply;
		hv_enc_init(&e, &rv_ep, RV_SPRAY, HV_MSG_REQUEST);
		hv_enc_u32(&e, i % 3);
		hv_enc_u32(&e, 4);
		hv_enc_u32(&e, size);
		hv_enc_u32(&e, seed);
		uint64_t blobs0 = st.blobs;
		REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
		hv_bytes b;
		hv_dec d;
		hv_dec_init(&d, reply);
		hv_dec_bytes(&d, &b);
		REQUIRE_EQ(hv_dec_finish(&d), 0);
		_hv_free_ uint8_t *want = pattern(size, seed);
		uint64_t end = hv_now_ns() + (uint64_t)HANG_MS * 1000000u;
		while (st.blobs < blobs0 + i % 3 + 4) {
			REQUIRE(hv_now_ns() < end);
			REQUIRE(hv_conn_dispatch(c, 100) >= 0);
		}
		CHECK_MSG(b.len == size && !memcmp(b.data, want, size),
			  "loop-less: sync reply changed under hv_conn_dispatch (%u)", i);
	}
	CHECK_EQ(st.bad, 0u);
	hv_conn_close(c);
}

/* --- a client closing its connection from an event's handler --------------- */
static void test_client_close_in_event(void)
{
	for (unsigned i = 0; i < 3; i++) {
		hv_conn *c = connect_rv();
		uint64_t blobs0 = st.blobs;
		hv_enc e;
		hv_enc_init(&e, &rv_ep, RV_FLOOD, HV_MSG_ONEWAY);
		hv_enc_u32(&e, 20);
		hv_enc_u32(&e, i == 1 ? 70000 : 300);
		hv_enc_u32(&e, 31 + i);
		REQUIRE_EQ(hv_conn_send(c, &e), 0);
		REQUIRE_EQ(hv_conn_flush(c), 0);
		close_on_blob = true;
		closed_on_blob = false;
		run_until(&closed_on_blob);
		/* c is gone (its handler closed it); the rest was dropped. */
		CHECK_EQ(st.blobs, blobs0 + 1);
		CHECK_EQ(st.bad, 0u);
	}
}

/* --- everything at once on one connection, in a fixed pseudo-random order -- */
static void test_mixed(void)
{
	hv_conn *c = connect_rv();
	enum { OPS = 160 };
	static struct put_result puts[OPS];
	static uint64_t want[OPS];
	static struct nested_result nests[OPS];
	unsigned nputs = 0, nnests = 0, outstanding = 0;
	uint32_t x = 12345;
	for (unsigned op = 0; op < OPS; op++) {
		x = x * 1103515245u + 12345u;
		unsigned what = (x >> 16) % 7;
		uint32_t size = (x >> 8) % 5 == 0 ? 65536 + (x % 300000) : (x >> 4) % 70000;
		switch (what) {
		case 0: { /* held */
			_hv_free_ uint8_t *p = pattern(size, op);
			want[nputs] = fnv(p, size);
			hv_enc e;
			hv_enc_init(&e, &rv_ep, RV_PUT, HV_MSG_REQUEST);
			hv_enc_bytes(&e, p, size);
			hv_enc_u64(&e, want[nputs]);
			hv_enc_buffer(&e, &HV_BUFFER_EMPTY);
			hv_enc_u64(&e, 0);
			REQUIRE_EQ(hv_conn_call_async(c, &e, put_done, &puts[nputs]), 0);
			nputs++;
			outstanding++;
			break;
		}
		case 1: { /* nested, answered at once */
			uint64_t sum;
			send_nested(c, size / 2, (x >> 3) % 200000, op, false, nested_done, &nests[nnests++], &sum);
			break;
		}
		case 2: /* events to the server */
			send_blob(c, size, op, x & 1);
			break;
		case 3: { /* events back */
			hv_enc e;
			hv_enc_init(&e, &rv_ep, RV_FLOOD, HV_MSG_ONEWAY);
			hv_enc_u32(&e, 1 + x % 5);
			hv_enc_u32(&e, size / 4);
			hv_enc_u32(&e, op);
			REQUIRE_EQ(hv_conn_send(c, &e), 0);
			break;
		}
		case 4: { /* a sync reply kept while the loop turns */
			/* No nested call of the server's may wait for us meanwhile. */
			for (unsigned k = 0; k < nnests; k++)
				run_until(&nests[k].done);
			hv_enc e;
			hv_msg *reply;
			hv_enc_init(&e, &rv_ep, RV_SPRAY, HV_MSG_REQUEST);
			hv_enc_u32(&e, x % 3);
			hv_enc_u32(&e, (x >> 2) % 3);
			hv_enc_u32(&e, size);
			hv_enc_u32(&e, op);
			REQUIRE_EQ(hv_conn_call(c, &e, HANG_MS, &reply), 0);
			hv_bytes b;
			hv_dec d;
			hv_dec_init(&d, reply);
			hv_dec_bytes(&d, &b);
			REQUIRE_EQ(hv_dec_finish(&d), 0);
			for (int k = 0; k < 3; k++)
				hv_loop_run_once(loop, 0);
			_hv_free_ uint8_t *w = pattern(size, op);
			CHECK_MSG(b.len == size && !memcmp(b.data, w, size), "mixed op %u: sync reply changed", op);
			break;
		}
		case 5: /* release, some of the time */
			if (outstanding > 6) {
				CHECK_EQ(release(c), outstanding);
				outstanding = 0;
			}
			break;
		default:
			hv_loop_run_once(loop, 0);
		}
	}
	CHECK_EQ(release(c), outstanding);
	for (unsigned i = 0; i < nputs; i++) {
		run_until(&puts[i].done);
		CHECK_EQ(puts[i].status, 0);
		CHECK_MSG(puts[i].sum == want[i] && puts[i].echo_sum == want[i], "mixed put %u corrupted", i);
	}
	for (unsigned i = 0; i < nnests; i++) {
		run_until(&nests[i].done);
		CHECK_EQ(nests[i].status, 0);
		CHECK_MSG(nests[i].outer_ok && nests[i].big_ok, "mixed nested %u corrupted", i);
	}
	CHECK_EQ(stats(c).bad, 0u);
	CHECK_EQ(st.bad, 0u);
	hv_conn_close(c);
}

/* --- packet sockets are refused ------------------------------------------ */
/* A SOCK_SEQPACKET connection used to be accepted: with the edge-triggered
 * watch, two packets arriving before one read dispatched only the first
 * (the rest waited for the next packet), and a frame larger than the read
 * space was truncated. Connections are byte streams only. */
static void test_stream_only(void)
{
	static const int types[] = {SOCK_SEQPACKET, SOCK_DGRAM};
	for (unsigned i = 0; i < HV_ARRAY_SIZE(types); i++) {
		int sv[2];
		REQUIRE(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv) == 0);
		hv_conn *c = NULL;
		CHECK_EQ(hv_conn_from_fd(loop, sv[0], &c), -EPROTOTYPE); /* fd taken and closed */
		hv_server *s;
		REQUIRE(hv_server_new(loop, &rv_ep, NULL, &s) == 0);
		CHECK_EQ(hv_server_adopt_fd(s, sv[1]), -EPROTOTYPE);
		CHECK_EQ(hv_server_connection_count(s), 0u);
		hv_server_free(s);
		close(sv[1]);
	}
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	hv_conn *c = NULL;
	CHECK_EQ(hv_conn_from_fd(loop, sv[0], &c), 0);
	hv_conn_close(c);
	close(sv[1]);
}

/* --- a burst of small held requests ------------------------------------ */
/* Each held call used to take the whole read buffer and copy the unparsed
 * rest into a new 64 KiB one: ~1000 small requests held from one burst cost
 * ~64 MiB and quadratic copying. Now they share the buffers they came in. */
static void test_held_burst(void)
{
	hv_conn *c = connect_rv();
	enum { N = 1000 };
	static struct put_result res[N];
	static uint64_t want[N];
	memset(res, 0, sizeof(res));
	uint64_t heap0 = stats(c).heap;
	for (unsigned i = 0; i < N; i++) {
		_hv_free_ uint8_t *p = pattern(40, 20000 + i);
		want[i] = fnv(p, 40);
		hv_enc e;
		hv_enc_init(&e, &rv_ep, RV_PUT, HV_MSG_REQUEST);
		hv_enc_bytes(&e, p, 40);
		hv_enc_u64(&e, want[i]);
		hv_enc_buffer(&e, &HV_BUFFER_EMPTY);
		hv_enc_u64(&e, 0);
		REQUIRE_EQ(hv_conn_call_async(c, &e, put_done, &res[i]), 0);
	}
	struct stats s = stats(c); /* behind every PUT: all are held now */
	uint64_t grown = s.heap > heap0 ? s.heap - heap0 : 0;
	fprintf(stderr, "held burst: server heap +%llu bytes for %u held calls\n", (unsigned long long)grown,
		(unsigned)N);
	CHECK_MSG(grown < (16u << 20), "server heap grew %llu bytes for %u held 97-byte requests",
		  (unsigned long long)grown, (unsigned)N);
	CHECK_EQ(release(c), (uint32_t)N);
	for (unsigned i = 0; i < N; i++) {
		run_until(&res[i].done);
		CHECK_EQ(res[i].status, 0);
		CHECK_MSG(res[i].sum == want[i] && res[i].echo_sum == want[i], "burst held call %u corrupted", i);
	}
	CHECK_EQ(stats(c).bad, 0u);
	hv_conn_close(c);
}

/* Held requests arriving one per read (a round trip after each): they fill
 * the free tail of the buffer they share instead of a fresh 64 KiB each. */
static void test_held_one_per_read(void)
{
	hv_conn *c = connect_rv();
	enum { N = 500 };
	static struct put_result res[N];
	static uint64_t want[N];
	memset(res, 0, sizeof(res));
	uint64_t heap0 = stats(c).heap, heap1 = heap0;
	for (unsigned i = 0; i < N; i++) {
		_hv_free_ uint8_t *p = pattern(40 + i % 50, 30000 + i);
		want[i] = fnv(p, 40 + i % 50);
		hv_enc e;
		hv_enc_init(&e, &rv_ep, RV_PUT, HV_MSG_REQUEST);
		hv_enc_bytes(&e, p, 40 + i % 50);
		hv_enc_u64(&e, want[i]);
		hv_enc_buffer(&e, &HV_BUFFER_EMPTY);
		hv_enc_u64(&e, 0);
		REQUIRE_EQ(hv_conn_call_async(c, &e, put_done, &res[i]), 0);
		heap1 = stats(c).heap; /* PUT and STATS leave in one write */
	}
	uint64_t grown = heap1 > heap0 ? heap1 - heap0 : 0;
	fprintf(stderr, "held one per read: server heap +%llu bytes for %u held calls\n",
		(unsigned long long)grown, (unsigned)N);
	CHECK_MSG(grown < (12u << 20), "server heap grew %llu bytes for %u held requests, one per read",
		  (unsigned long long)grown, (unsigned)N);
	CHECK_EQ(release(c), (uint32_t)N);
	for (unsigned i = 0; i < N; i++) {
		run_until(&res[i].done);
		CHECK_EQ(res[i].status, 0);
		CHECK_MSG(res[i].sum == want[i] && res[i].echo_sum == want[i], "held call %u corrupted", i);
	}
	/* And the connection goes on reading normally once they are gone. */
	test_sync_reply_and_events_on(c);
	CHECK_EQ(stats(c).bad, 0u);
	hv_conn_close(c);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(path, sizeof(path), "%s/review.sock", test_tmpdir());
	pid_t server = server_fork(path);
	REQUIRE(hv_loop_new(&loop) == 0);

	test_held_in_reverse();
	test_nested_large();
	test_sync_reply_and_events();
	test_raw_boundaries();
	test_backpressure();
	test_lazy();
	test_close_in_handler();
	test_client_dies_while_held();
	test_nested_then_hold();
	test_loopless_spray();
	test_client_close_in_event();
	test_mixed();
	test_stream_only();
	test_held_burst();
	test_held_one_per_read();

	CHECK_EQ(st.bad, 0u);
	CHECK_EQ(server_stop(server), 0);
	hv_loop_free(loop);
	test_tmp_cleanup();
	return check_result();
}
