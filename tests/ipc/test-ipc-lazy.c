/* tests/ipc/test-ipc-lazy.c — lazy buffers (hv_conn_set_lazy_buffers):
 * a forked server decodes Buffers/Bitmaps unmapped and maps them only when
 * a handler asks (hv_call_map_buffer on the request's view, or
 * hv_buffer_map on a taken handle); a pass-through handler never maps;
 * bad seals, a wrong size and a non-memfd are caught at map time with
 * -EBADMSG; a lazy client maps a reply's buffer itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testproto.h"

/* endpoint LazyTest {
 *   sum(Buffer b, bool take) => (u64 sum, bool was_unmapped)   1
 *   pass(Buffer b) => (Buffer b, bool was_unmapped)            2
 *   strict(Buffer b) => (u64 sum)  (a map error is returned: ends the peer) 3
 *   bitmap(Bitmap bm) => (u64 sum)                             4
 * } */
enum { LT_SUM = 1, LT_PASS, LT_STRICT, LT_BITMAP, LT_COUNT = LT_BITMAP };

static uint64_t sum_bytes(const void *p, size_t n)
{
	uint64_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

static int respond_sum(hv_call *call, uint64_t sum, int has_flag, bool flag)
{
	hv_enc e;
	hv_call_reply_init(call, &e);
	hv_enc_u64(&e, sum);
	if (has_flag)
		hv_enc_bool(&e, flag);
	return hv_call_respond(call, &e);
}

static int lt_dispatch(hv_call *call, hv_msg *msg, const void *handlers)
{
	hv_dec d;
	hv_dec_init(&d, msg);
	switch (hv_msg_id(msg)) {
	case LT_SUM: {
		hv_buffer b;
		bool take;
		hv_dec_buffer(&d, &b);
		hv_dec_bool(&d, &take);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		bool unmapped = b.data == NULL;
		/* Not this message's fd, or no buffer at all: refused. */
		hv_buffer other = {.fd = 0, .size = 1};
		hv_buffer empty = HV_BUFFER_EMPTY;
		if (hv_call_map_buffer(call, &other) != -EBADF || hv_call_map_buffer(call, &empty) != -EBADF)
			return hv_call_respond_error(call, -EPROTO, "foreign fd accepted"), 0;
		int r;
		uint64_t sum = 0;
		if (take) {
			REQUIRE_EQ(hv_call_take_buffer(call, &b), 0);
			r = hv_buffer_map(&b);
			if (r == 0) {
				REQUIRE_EQ(hv_buffer_map(&b), 0); /* mapped already: no-op */
				sum = sum_bytes(b.data, b.size);
			}
			hv_buffer_release(&b);
		} else {
			r = hv_call_map_buffer(call, &b);
			if (r == 0) {
				void *first = b.data;
				REQUIRE_EQ(hv_call_map_buffer(call, &b), 0);
				REQUIRE(b.data == first);
				sum = sum_bytes(b.data, b.size);
			}
		}
		if (r < 0)
			return hv_call_respond_error(call, r, "buffer refused at map time"), 0;
		respond_sum(call, sum, 1, unmapped);
		return 0;
	}
	case LT_PASS: {
		hv_buffer b;
		hv_dec_buffer(&d, &b);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		hv_enc e;
		hv_call_reply_init(call, &e);
		hv_enc_buffer(&e, &b);
		hv_enc_bool(&e, b.data == NULL);
		hv_call_respond(call, &e);
		return 0;
	}
	case LT_STRICT: {
		hv_buffer b;
		hv_dec_buffer(&d, &b);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		int r = hv_call_map_buffer(call, &b);
		if (r < 0)
			return r; /* as a malformed message: the connection ends */
		respond_sum(call, sum_bytes(b.data, b.size), 0, false);
		return 0;
	}
	case LT_BITMAP: {
		hv_bitmap bm;
		hv_dec_bitmap(&d, &bm);
		if (hv_dec_finish(&d) < 0)
			return d.err;
		REQUIRE(bm.buffer.data == NULL);
		int r = hv_call_map_buffer(call, &bm.buffer);
		if (r < 0)
			return hv_call_respond_error(call, r, "bitmap refused at map time"), 0;
		respond_sum(call, sum_bytes(bm.buffer.data, (size_t)bm.stride * bm.height), 0, false);
		return 0;
	}
	}
	return -EBADMSG;
}

static const char *const lt_names[] = {"sum", "pass", "strict", "bitmap"};
static const hv_endpoint lt_endpoint = {
	.name = "LazyTest", .magic = 0x4c617a79u, .message_count = LT_COUNT,
	.message_names = lt_names, .dispatch = lt_dispatch,
};

static void on_gone(hv_conn *c, void *userdata) { hv_loop_quit(userdata, 0); }

/* A lazy LazyTest server on the other end of a socketpair. */
static hv_conn *start_server(pid_t *pid)
{
	int sv[2];
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	*pid = fork();
	REQUIRE(*pid >= 0);
	if (*pid == 0) {
		close(sv[0]);
		hv_loop *loop;
		hv_conn *c;
		REQUIRE_EQ(hv_loop_new(&loop), 0);
		REQUIRE_EQ(hv_conn_from_fd(loop, sv[1], &c), 0);
		REQUIRE_EQ(hv_conn_serve(c, &lt_endpoint, NULL), 0);
		hv_conn_set_lazy_buffers(c, true);
		hv_conn_on_disconnect(c, on_gone, loop);
		hv_loop_run(loop);
		hv_conn_close(c);
		hv_loop_free(loop);
		_exit(0);
	}
	close(sv[1]);
	hv_conn *c;
	REQUIRE_EQ(hv_conn_from_fd(NULL, sv[0], &c), 0);
	return c;
}

static void stop_server(hv_conn *c, pid_t pid)
{
	hv_conn_close(c);
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int call_sum(hv_conn *c, const hv_buffer *b, bool take, uint64_t *sum, bool *unmapped)
{
	hv_enc e;
	hv_enc_init(&e, &lt_endpoint, LT_SUM, HV_MSG_REQUEST);
	hv_enc_buffer(&e, b);
	hv_enc_bool(&e, take);
	hv_msg *reply;
	int r = hv_conn_call(c, &e, -1, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_u64(&d, sum);
	hv_dec_bool(&d, unmapped);
	return hv_dec_finish(&d);
}

static int call_pass(hv_conn *c, const hv_buffer *b, hv_buffer *back, bool *unmapped)
{
	hv_enc e;
	hv_enc_init(&e, &lt_endpoint, LT_PASS, HV_MSG_REQUEST);
	hv_enc_buffer(&e, b);
	hv_msg *reply;
	int r = hv_conn_call(c, &e, -1, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_buffer(&d, back);
	hv_dec_bool(&d, unmapped);
	r = hv_dec_finish(&d);
	if (r < 0) {
		hv_conn_misbehave(c, "malformed reply to LazyTest.pass"); /* as generated code does */
		return r;
	}
	hv_msg_give_all(reply);
	return 0;
}

static int call_u64(hv_conn *c, uint16_t id, const hv_buffer *b, const hv_bitmap *bm, uint64_t *sum)
{
	hv_enc e;
	hv_enc_init(&e, &lt_endpoint, id, HV_MSG_REQUEST);
	if (bm)
		hv_enc_bitmap(&e, bm);
	else
		hv_enc_buffer(&e, b);
	hv_msg *reply;
	int r = hv_conn_call(c, &e, -1, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	hv_dec_init(&d, reply);
	hv_dec_u64(&d, sum);
	return hv_dec_finish(&d);
}

/* A sealed rw buffer of n bytes filled with a pattern; its byte sum. */
static uint64_t make_buffer(size_t n, hv_buffer *b)
{
	REQUIRE_EQ(hv_buffer_create(n, b), 0);
	for (size_t i = 0; i < n; i++)
		((uint8_t *)b->data)[i] = (uint8_t)(i * 7 + 1);
	return sum_bytes(b->data, n);
}

/* A memfd of n bytes with the given seals, as a hand-made handle. */
static hv_buffer raw_memfd(size_t n, unsigned seals, bool readonly)
{
	int fd = memfd_create("lazy-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)n) == 0);
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return (hv_buffer){.fd = fd, .size = n, .readonly = readonly};
}

static void test_map_after_lazy_decode(void)
{
	pid_t pid;
	hv_conn *c = start_server(&pid);
	hv_buffer b;
	uint64_t want = make_buffer(8192, &b), sum = 0;
	bool unmapped = false;
	/* The request's view, mapped by the handler (twice: one mapping). */
	REQUIRE_EQ(call_sum(c, &b, false, &sum, &unmapped), 0);
	REQUIRE(unmapped);
	REQUIRE_EQ(sum, want);
	/* A taken handle mapped with hv_buffer_map and released by the handler. */
	sum = 0;
	REQUIRE_EQ(call_sum(c, &b, true, &sum, &unmapped), 0);
	REQUIRE(unmapped);
	REQUIRE_EQ(sum, want);
	/* Read-only: F_SEAL_WRITE is what the map checks then. The handler
	 * released its mappings before replying, so sealing succeeds now. */
	REQUIRE_EQ(hv_buffer_seal(&b), 0);
	REQUIRE_EQ(call_sum(c, &b, false, &sum, &unmapped), 0);
	REQUIRE_EQ(sum, want);
	hv_buffer_release(&b);
	/* An empty buffer decodes as empty, lazily or not. */
	hv_buffer empty = HV_BUFFER_EMPTY;
	REQUIRE_EQ(hv_buffer_map(&empty), -EBADF);
	/* A zero-byte memfd is still verified (seals), then has nothing to map. */
	hv_buffer zero;
	REQUIRE_EQ(hv_buffer_create(0, &zero), 0);
	REQUIRE_EQ(call_sum(c, &zero, false, &sum, &unmapped), 0);
	REQUIRE_EQ(sum, 0);
	hv_buffer_release(&zero);
	/* A bitmap's buffer, mapped through hv_call_map_buffer. */
	hv_bitmap bm;
	REQUIRE_EQ(hv_bitmap_create(16, 8, HV_PIXEL_BGRA8888, &bm), 0);
	memset(bm.buffer.data, 3, bm.buffer.size);
	REQUIRE_EQ(call_u64(c, LT_BITMAP, NULL, &bm, &sum), 0);
	REQUIRE_EQ(sum, 3u * 16 * 8 * 4);
	hv_bitmap_release(&bm);
	stop_server(c, pid);
}

static void test_bad_buffers_at_map_time(void)
{
	pid_t pid;
	hv_conn *c = start_server(&pid);
	uint64_t sum;
	bool unmapped;
	struct {
		const char *what;
		hv_buffer b;
	} bad[] = {
		{"no seals", raw_memfd(4096, 0, false)},
		{"shrink seal only", raw_memfd(4096, F_SEAL_SHRINK, false)},
		{"readonly without F_SEAL_WRITE", raw_memfd(4096, F_SEAL_SHRINK | F_SEAL_GROW, true)},
		{"size larger than the memfd", raw_memfd(4096, F_SEAL_SHRINK | F_SEAL_GROW, false)},
		{"size smaller than the memfd", raw_memfd(4096, F_SEAL_SHRINK | F_SEAL_GROW, false)},
	};
	bad[3].b.size = 8192;
	bad[4].b.size = 100;
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		for (int take = 0; take < 2; take++) {
			int r = call_sum(c, &bad[i].b, take, &sum, &unmapped);
			if (r != -EBADMSG || !hv_conn_last_error(c)->remote) {
				fprintf(stderr, "%s (take %d): got %d\n", bad[i].what, take, r);
				REQUIRE(0);
			}
		}
		close(bad[i].b.fd);
	}
	/* Not a memfd at all. */
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	hv_buffer pipe_buf = {.fd = p[0], .size = 16};
	REQUIRE_EQ(call_sum(c, &pipe_buf, false, &sum, &unmapped), -EBADMSG);
	close(p[0]);
	close(p[1]);
	/* The connection survived every refusal (the handler answered). */
	hv_buffer good;
	uint64_t want = make_buffer(100, &good);
	REQUIRE_EQ(call_sum(c, &good, false, &sum, &unmapped), 0);
	REQUIRE_EQ(sum, want);
	hv_buffer_release(&good);
	stop_server(c, pid);

	/* A handler that returns the map error ends the connection, as a
	 * malformed message does under eager decoding. */
	c = start_server(&pid);
	hv_buffer unsealed = raw_memfd(64, 0, false);
	REQUIRE_EQ(call_u64(c, LT_STRICT, &unsealed, NULL, &sum), -ECONNRESET);
	REQUIRE(!hv_conn_is_open(c));
	close(unsealed.fd);
	stop_server(c, pid);
}

static void test_pass_through(void)
{
	pid_t pid;
	hv_conn *c = start_server(&pid);
	hv_buffer b, back = HV_BUFFER_EMPTY;
	uint64_t want = make_buffer(1 << 20, &b);
	bool unmapped = false;
	/* The server never maps it; this (eager) client verifies and maps the
	 * reply, which is the very same memfd. */
	REQUIRE_EQ(call_pass(c, &b, &back, &unmapped), 0);
	REQUIRE(unmapped);
	REQUIRE(back.data != NULL);
	REQUIRE_EQ(back.size, b.size);
	REQUIRE_EQ(sum_bytes(back.data, back.size), want);
	struct stat s1, s2;
	REQUIRE(fstat(b.fd, &s1) == 0 && fstat(back.fd, &s2) == 0);
	REQUIRE(s1.st_ino == s2.st_ino);
	hv_buffer_release(&back);

	/* A lazy client: the reply's buffer stays unmapped until it maps it. */
	hv_conn_set_lazy_buffers(c, true);
	REQUIRE_EQ(call_pass(c, &b, &back, &unmapped), 0);
	REQUIRE(back.data == NULL && back.fd >= 0 && back.size == b.size);
	REQUIRE_EQ(hv_buffer_map(&back), 0);
	REQUIRE_EQ(sum_bytes(back.data, back.size), want);
	hv_buffer_release(&back);
	hv_buffer_release(&back); /* idempotent */
	/* Released unmapped: just the fd goes. */
	REQUIRE_EQ(call_pass(c, &b, &back, &unmapped), 0);
	REQUIRE(back.data == NULL);
	hv_buffer_release(&back);
	hv_conn_set_lazy_buffers(c, false);

	/* An unverified buffer passed on is checked by its next receiver: this
	 * eager client rejects the reply as malformed. */
	hv_buffer unsealed = raw_memfd(64, 0, false);
	REQUIRE_EQ(call_pass(c, &unsealed, &back, &unmapped), -EBADMSG);
	REQUIRE(!hv_conn_is_open(c));
	close(unsealed.fd);
	hv_buffer_release(&b);
	stop_server(c, pid);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_map_after_lazy_decode();
	test_bad_buffers_at_map_time();
	test_pass_through();
	printf("ok\n");
	return 0;
}
