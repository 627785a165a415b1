/* tests/ipc/test-ipc-wire.c — the value layer: every type round-trips
 * through hv_enc/hv_dec; truncated, overlong, bad-UTF-8, huge-length and
 * wrong-fd-count input is rejected; buffers' seals are verified; the frame
 * parser checks headers, limits and fd matching. */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "frame.h"
#include "msg.h"
#include "testproto.h"

static const hv_endpoint ep = {.name = "WireTest", .magic = 1, .message_count = 1};

/* Turn an encoder's result into a received message (as the socket would). */
static hv_msg *to_msg(hv_enc *e)
{
	REQUIRE_EQ(e->err, 0);
	int fds[HV_IPC_MAX_FDS_PER_MESSAGE];
	for (unsigned i = 0; i < e->nfds; i++)
		REQUIRE((fds[i] = fcntl(e->fds[i], F_DUPFD_CLOEXEC, 3)) >= 0);
	hv_msg *m;
	REQUIRE_EQ(hv_msg_new_raw(ep.magic, 1, HV_MSG_REQUEST, 1, e->buf + HV_IPC_HEADER_SIZE,
				e->len - HV_IPC_HEADER_SIZE, fds, e->nfds, &m),
		 0);
	hv_enc_release(e);
	return m;
}

static hv_msg *raw_msg(const void *p, size_t len)
{
	hv_msg *m;
	REQUIRE_EQ(hv_msg_new_raw(ep.magic, 1, HV_MSG_REQUEST, 1, p, len, NULL, 0, &m), 0);
	return m;
}

static void test_magic(void)
{
	REQUIRE_EQ(hv_ipc_magic(""), 2166136261u);
	REQUIRE_EQ(hv_ipc_magic("a"), 0xe40c292cu); /* FNV-1a reference value */
	REQUIRE_EQ(hv_ipc_magic("TestServer"), test_server_endpoint.magic);
	REQUIRE_EQ(hv_ipc_magic("TestClient"), test_client_endpoint.magic);
}

static void test_scalars(void)
{
	hv_enc e;
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_bool(&e, true);
	hv_enc_bool(&e, false);
	hv_enc_u8(&e, 0xfe);
	hv_enc_u16(&e, 0xbeef);
	hv_enc_u32(&e, 0xdeadbeefu);
	hv_enc_u64(&e, 0x0123456789abcdefull);
	hv_enc_i8(&e, -5);
	hv_enc_i16(&e, -30000);
	hv_enc_i32(&e, INT32_MIN);
	hv_enc_i64(&e, INT64_MIN + 1);
	hv_enc_f32(&e, 1.5f);
	hv_enc_f64(&e, -DBL_MAX);
	/* Little-endian on the wire, no padding. */
	REQUIRE_EQ(e.len - HV_IPC_HEADER_SIZE, 2 + 1 + 2 + 4 + 8 + 1 + 2 + 4 + 8 + 4 + 8);
	REQUIRE_EQ(e.buf[HV_IPC_HEADER_SIZE + 3], 0xef);
	REQUIRE_EQ(e.buf[HV_IPC_HEADER_SIZE + 4], 0xbe);
	hv_msg *m = to_msg(&e);
	hv_dec d;
	bool b1, b2;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	int8_t i8;
	int16_t i16;
	int32_t i32;
	int64_t i64;
	float f;
	double df;
	hv_dec_init(&d, m);
	REQUIRE(hv_dec_bool(&d, &b1) && hv_dec_bool(&d, &b2) && hv_dec_u8(&d, &u8) && hv_dec_u16(&d, &u16) &&
	      hv_dec_u32(&d, &u32) && hv_dec_u64(&d, &u64) && hv_dec_i8(&d, &i8) && hv_dec_i16(&d, &i16) &&
	      hv_dec_i32(&d, &i32) && hv_dec_i64(&d, &i64) && hv_dec_f32(&d, &f) && hv_dec_f64(&d, &df));
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE(b1 && !b2);
	REQUIRE_EQ(u8, 0xfe);
	REQUIRE_EQ(u16, 0xbeef);
	REQUIRE_EQ(u32, 0xdeadbeefu);
	REQUIRE(u64 == 0x0123456789abcdefull);
	REQUIRE_EQ(i8, -5);
	REQUIRE_EQ(i16, -30000);
	REQUIRE_EQ(i32, INT32_MIN);
	REQUIRE(i64 == INT64_MIN + 1);
	REQUIRE(f == 1.5f && df == -DBL_MAX);
	/* Reading past the end fails, and stays failed. */
	REQUIRE(!hv_dec_u8(&d, &u8));
	REQUIRE_EQ(d.err, -EBADMSG);
	hv_msg_destroy(m);
}

static void test_strings_bytes_containers(void)
{
	hv_enc e;
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_string(&e, "héllo wörld ✓");
	hv_enc_string(&e, "");
	hv_enc_bytestring(&e, "\xff\xfe raw");
	uint8_t raw[] = {0, 1, 2, 0, 255};
	hv_enc_bytes(&e, raw, sizeof(raw));
	hv_enc_bytes(&e, NULL, 0);
	/* array<u32> of 3, map<String,i64> of 2, optional absent + present,
	 * a struct {u16, String}, an enum (u32). */
	hv_enc_count(&e, 3);
	for (uint32_t i = 0; i < 3; i++)
		hv_enc_u32(&e, i * 100);
	hv_enc_count(&e, 2);
	hv_enc_string(&e, "k1");
	hv_enc_i64(&e, -1);
	hv_enc_string(&e, "k2");
	hv_enc_i64(&e, 2);
	hv_enc_present(&e, false);
	hv_enc_present(&e, true);
	hv_enc_string(&e, "opt");
	hv_enc_u16(&e, 7);
	hv_enc_string(&e, "field");
	hv_enc_u32(&e, 2);
	/* Grows past the inline buffer. */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	hv_enc_string(&e, big);
	hv_msg *m = to_msg(&e);

	hv_dec d;
	const char *s1, *s2, *bs, *k, *opt, *field, *bigs;
	hv_bytes b, b0;
	size_t n;
	uint32_t u;
	int64_t v;
	bool present;
	uint16_t u16;
	hv_dec_init(&d, m);
	REQUIRE(hv_dec_string(&d, &s1) && strcmp(s1, "héllo wörld ✓") == 0);
	REQUIRE(hv_dec_string(&d, &s2) && strcmp(s2, "") == 0);
	REQUIRE(hv_dec_bytestring(&d, &bs) && strcmp(bs, "\xff\xfe raw") == 0);
	REQUIRE(hv_dec_bytes(&d, &b) && b.len == sizeof(raw) && memcmp(b.data, raw, sizeof(raw)) == 0);
	REQUIRE(hv_dec_bytes(&d, &b0) && b0.len == 0);
	REQUIRE(hv_dec_count(&d, 4, &n) && n == 3);
	uint32_t *arr = hv_dec_alloc(&d, n, sizeof(uint32_t));
	REQUIRE(arr);
	for (size_t i = 0; i < n; i++)
		REQUIRE(hv_dec_u32(&d, &arr[i]) && arr[i] == i * 100);
	REQUIRE(hv_dec_count(&d, 5 + 8, &n) && n == 2);
	REQUIRE(hv_dec_string(&d, &k) && strcmp(k, "k1") == 0 && hv_dec_i64(&d, &v) && v == -1);
	REQUIRE(hv_dec_string(&d, &k) && strcmp(k, "k2") == 0 && hv_dec_i64(&d, &v) && v == 2);
	REQUIRE(hv_dec_present(&d, &present) && !present);
	REQUIRE(hv_dec_present(&d, &present) && present && hv_dec_string(&d, &opt) && strcmp(opt, "opt") == 0);
	REQUIRE(hv_dec_u16(&d, &u16) && u16 == 7 && hv_dec_string(&d, &field) && strcmp(field, "field") == 0);
	REQUIRE(hv_dec_u32(&d, &u) && u == 2);
	REQUIRE(hv_dec_string(&d, &bigs) && strlen(bigs) == sizeof(big) - 1);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	hv_msg_destroy(m);
}

static void expect_reject(const void *p, size_t len, int (*decode)(hv_dec *d), int err)
{
	hv_msg *m = raw_msg(p, len);
	hv_dec d;
	hv_dec_init(&d, m);
	int r = decode(&d);
	REQUIRE_EQ(r, err);
	hv_msg_destroy(m);
}

static int dec_one_string(hv_dec *d)
{
	const char *s;
	hv_dec_string(d, &s);
	return hv_dec_finish(d);
}
static int dec_one_bytestring(hv_dec *d)
{
	const char *s;
	hv_dec_bytestring(d, &s);
	return hv_dec_finish(d);
}
static int dec_one_bytes(hv_dec *d)
{
	hv_bytes b;
	hv_dec_bytes(d, &b);
	return hv_dec_finish(d);
}
static int dec_one_bool(hv_dec *d)
{
	bool b;
	hv_dec_bool(d, &b);
	return hv_dec_finish(d);
}
static int dec_u32_array(hv_dec *d)
{
	size_t n;
	if (!hv_dec_count(d, 4, &n))
		return d->err;
	uint32_t *a = hv_dec_alloc(d, n, 4);
	for (size_t i = 0; a && i < n; i++)
		hv_dec_u32(d, &a[i]);
	return hv_dec_finish(d);
}
static int dec_one_fd(hv_dec *d)
{
	int fd;
	hv_dec_fd(d, &fd);
	return hv_dec_finish(d);
}
static int dec_nothing(hv_dec *d) { return hv_dec_finish(d); }

static void test_rejections(void)
{
	/* truncated: length says 5, 3 bytes follow */
	expect_reject("\x05\0\0\0abc", 7, dec_one_string, -EBADMSG);
	/* missing NUL terminator */
	expect_reject("\x03\0\0\0abcX", 8, dec_one_string, -EBADMSG);
	/* interior NUL */
	expect_reject("\x03\0\0\0a\0c\0", 8, dec_one_string, -EBADMSG);
	expect_reject("\x03\0\0\0a\0c\0", 8, dec_one_bytestring, -EBADMSG);
	/* bad UTF-8: lone continuation, overlong '/', surrogate */
	expect_reject("\x01\0\0\0\x80\0", 6, dec_one_string, -EILSEQ);
	expect_reject("\x02\0\0\0\xc0\xaf\0", 7, dec_one_string, -EILSEQ);
	expect_reject("\x03\0\0\0\xed\xa0\x80\0", 8, dec_one_string, -EILSEQ);
	/* after a long ASCII run (the fast path), and a truncated sequence at the end */
	expect_reject("\x0b\0\0\0abcdefghij\x80\0", 16, dec_one_string, -EILSEQ);
	expect_reject("\x0a\0\0\0abcdefghi\xe2\0", 15, dec_one_string, -EILSEQ);
	expect_reject("\x0c\0\0\0abcdefghi\xe2\x9c\x93\0", 17, dec_one_string, 0);
	/* ...but a ByteString takes any bytes */
	expect_reject("\x01\0\0\0\x80\0", 6, dec_one_bytestring, 0);
	/* huge lengths */
	expect_reject("\xff\xff\xff\xff", 4, dec_one_bytes, -EBADMSG);
	expect_reject("\xff\xff\xff\xff", 4, dec_one_string, -EBADMSG);
	expect_reject("\xff\xff\xff\x7f\0\0\0\0", 8, dec_u32_array, -EBADMSG);
	expect_reject("\x02\0\0\0\1\0\0\0", 8, dec_u32_array, -EBADMSG);
	/* overlong: bytes left after the last field */
	expect_reject("\x01\0\0\0\1\0\0\0\xff", 9, dec_u32_array, -EBADMSG);
	expect_reject("\x01", 1, dec_nothing, -EBADMSG);
	/* bool must be 0 or 1 */
	expect_reject("\x02", 1, dec_one_bool, -EBADMSG);
	/* wrong fd count: one expected, none sent */
	expect_reject("", 0, dec_one_fd, -EBADMSG);

	/* wrong fd count: two sent, one decoded */
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	hv_msg *m;
	REQUIRE_EQ(hv_msg_new_raw(1, 1, HV_MSG_REQUEST, 1, "", 0, p, 2, &m), 0);
	hv_dec d;
	hv_dec_init(&d, m);
	REQUIRE_EQ(dec_one_fd(&d), -EBADMSG);
	hv_msg_destroy(m); /* closes both */
	REQUIRE(fcntl(p[0], F_GETFD) < 0 && fcntl(p[1], F_GETFD) < 0);
}

static void test_encoder_errors(void)
{
	hv_enc e;
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_string(&e, "\xc3\x28");
	REQUIRE_EQ(e.err, -EILSEQ);
	hv_enc_u32(&e, 1); /* sticky: a no-op */
	REQUIRE_EQ(e.len, HV_IPC_HEADER_SIZE);
	hv_enc_release(&e);
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_string(&e, NULL);
	REQUIRE_EQ(e.err, -EINVAL);
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	for (unsigned i = 0; i < HV_IPC_MAX_FDS_PER_MESSAGE; i++)
		hv_enc_fd(&e, 0);
	REQUIRE_EQ(e.err, 0);
	hv_enc_fd(&e, 0);
	REQUIRE_EQ(e.err, -EMSGSIZE);
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_fd(&e, -1);
	REQUIRE_EQ(e.err, -EBADF);
	/* over the message size limit */
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	REQUIRE(hv_enc_reserve(&e, HV_IPC_MAX_MESSAGE_SIZE + 1) == NULL);
	REQUIRE_EQ(e.err, -EMSGSIZE);
	hv_enc_release(&e);
	hv_enc_release(&e); /* idempotent */
}

static void test_buffers(void)
{
	hv_buffer b;
	REQUIRE_EQ(hv_buffer_create(10000, &b), 0);
	for (int i = 0; i < 10000; i++)
		((uint8_t *)b.data)[i] = (uint8_t)i;
	/* A created buffer cannot change size (seals). */
	REQUIRE(ftruncate(b.fd, 10) < 0);
	hv_buffer empty = HV_BUFFER_EMPTY;
	hv_bitmap bm;
	REQUIRE_EQ(hv_bitmap_create(7, 5, HV_PIXEL_BGRA8888, &bm), 0);
	REQUIRE(bm.stride == 28 && bm.buffer.size == 140);
	memset(bm.buffer.data, 3, bm.buffer.size);

	hv_enc e;
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_buffer(&e, &b);
	hv_enc_buffer(&e, &empty);
	hv_enc_bitmap(&e, &bm);
	REQUIRE_EQ(e.nfds, 2);
	hv_msg *m = to_msg(&e);
	hv_dec d;
	hv_buffer rb, re;
	hv_bitmap rbm;
	hv_dec_init(&d, m);
	REQUIRE(hv_dec_buffer(&d, &rb) && hv_dec_buffer(&d, &re) && hv_dec_bitmap(&d, &rbm));
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE(rb.size == 10000 && !rb.readonly && ((uint8_t *)rb.data)[9999] == (uint8_t)9999);
	/* Shared memory: a write on one side is seen on the other. */
	((uint8_t *)rb.data)[0] = 42;
	REQUIRE_EQ(((uint8_t *)b.data)[0], 42);
	REQUIRE(re.fd == -1 && re.data == NULL);
	REQUIRE(rbm.width == 7 && rbm.height == 5 && rbm.stride == 28 && rbm.format == HV_PIXEL_BGRA8888);
	REQUIRE_EQ(((uint8_t *)rbm.buffer.data)[139], 3);
	/* Take one buffer: it survives the message. */
	REQUIRE_EQ(hv_msg_take_buffer(m, &rb), 0);
	REQUIRE_EQ(hv_msg_take_buffer(m, &rb), -EBADF);
	hv_msg_destroy(m);
	REQUIRE_EQ(((uint8_t *)rb.data)[1], 1);
	hv_buffer_release(&rb);
	hv_buffer_release(&rb); /* idempotent */

	/* Read-only: sealed, mapped read-only on the receiving side. */
	REQUIRE_EQ(hv_buffer_seal(&b), 0);
	REQUIRE(b.readonly);
	REQUIRE(mmap(NULL, 10000, PROT_READ | PROT_WRITE, MAP_SHARED, b.fd, 0) == MAP_FAILED);
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_buffer(&e, &b);
	m = to_msg(&e);
	hv_dec_init(&d, m);
	REQUIRE(hv_dec_buffer(&d, &rb) && rb.readonly && ((const uint8_t *)rb.data)[0] == 42);
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	hv_msg_destroy(m);
	hv_buffer_release(&b);
	hv_bitmap_release(&bm);
}

/* A memfd this process has mapped comes back (a reply carrying the
 * caller's own buffer): the handle shares the live mapping, by reference;
 * releases in any order unmap only with the last one. */
/* Is p inside a mapping of a Haven buffer memfd? */
static bool is_mapped(void *p)
{
	FILE *f = fopen("/proc/self/maps", "re");
	REQUIRE(f);
	char line[512];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			found = (unsigned long)p >= lo && (unsigned long)p < hi &&
				strstr(line, "memfd:haven-buffer"); /* not whatever reuses it */
	}
	fclose(f);
	return found;
}

static hv_buffer decode_back(const hv_buffer *b)
{
	hv_enc e;
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_buffer(&e, b);
	hv_msg *m = to_msg(&e);
	hv_dec d;
	hv_buffer rb;
	hv_dec_init(&d, m);
	REQUIRE(hv_dec_buffer(&d, &rb));
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE_EQ(hv_msg_take_buffer(m, &rb), 0);
	hv_msg_destroy(m);
	return rb;
}

static void test_shared_mappings(void)
{
	hv_buffer b;
	REQUIRE_EQ(hv_buffer_create(1 << 20, &b), 0);
	((uint8_t *)b.data)[5] = 7;
	hv_buffer r1 = decode_back(&b), r2 = decode_back(&b);
	REQUIRE(r1.data == b.data && r2.data == b.data && r1.fd != b.fd && !r1.readonly);
	void *addr = b.data;
	hv_buffer_release(&b); /* the creator first: the others keep the memory */
	REQUIRE(is_mapped(addr));
	((uint8_t *)r1.data)[6] = 8;
	REQUIRE_EQ(((uint8_t *)r2.data)[5] + ((uint8_t *)r2.data)[6], 15);
	hv_buffer_release(&r2);
	REQUIRE(is_mapped(addr));
	hv_buffer_release(&r1);
	REQUIRE(!is_mapped(addr));

	/* While a writable handle shares it, sealing cannot succeed (a writable
	 * mapping exists), and the buffer stays usable. */
	REQUIRE_EQ(hv_buffer_create(4096, &b), 0);
	r1 = decode_back(&b);
	REQUIRE_EQ(hv_buffer_seal(&b), -EBUSY);
	REQUIRE(!b.readonly && b.data == r1.data);
	((uint8_t *)b.data)[0] = 1;
	hv_buffer_release(&r1);
	/* Sealed: a read-only mapping, shared by read-only handles only. */
	REQUIRE_EQ(hv_buffer_seal(&b), 0);
	r1 = decode_back(&b);
	REQUIRE(r1.readonly && r1.data == b.data && ((const uint8_t *)r1.data)[0] == 1);
	hv_buffer_release(&b);
	REQUIRE_EQ(((const uint8_t *)r1.data)[0], 1);
	hv_buffer_release(&r1);

	/* A different memfd of the same size never shares. */
	hv_buffer x, y;
	REQUIRE_EQ(hv_buffer_create(4096, &x), 0);
	REQUIRE_EQ(hv_buffer_create(4096, &y), 0);
	r1 = decode_back(&y);
	REQUIRE(r1.data == y.data && r1.data != x.data);
	hv_buffer_release(&r1);
	hv_buffer_release(&x);
	hv_buffer_release(&y);
}

static int dec_one_buffer(hv_dec *d)
{
	hv_buffer b;
	hv_dec_buffer(d, &b);
	return hv_dec_finish(d);
}

/* A buffer the receiver must refuse, described by its fd and wire fields. */
static void expect_buffer_reject(int fd, uint64_t size, uint8_t flags)
{
	uint8_t p[9];
	memcpy(p, &size, 8);
	p[8] = flags;
	hv_msg *m;
	int dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	REQUIRE_EQ(hv_msg_new_raw(1, 1, HV_MSG_REQUEST, 1, p, 9, &dupfd, 1, &m), 0);
	hv_dec d;
	hv_dec_init(&d, m);
	REQUIRE_EQ(dec_one_buffer(&d), -EBADMSG);
	hv_msg_destroy(m);
}

static void test_buffer_rejections(void)
{
	/* not a memfd */
	int p[2];
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	expect_buffer_reject(p[0], 0, 0);
	close(p[0]);
	close(p[1]);
	/* a memfd without size seals: the peer could shrink it and SIGBUS us */
	int fd = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0 && ftruncate(fd, 4096) == 0);
	expect_buffer_reject(fd, 4096, 0);
	/* sealed size, but claimed read-only without a write seal */
	REQUIRE(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0);
	expect_buffer_reject(fd, 4096, 1);
	/* size on the wire differs from the memfd's */
	expect_buffer_reject(fd, 8192, 0);
	/* unknown flag bits; "null" buffer with a size */
	expect_buffer_reject(fd, 4096, 0x80);
	close(fd);
	uint8_t nullbuf[9] = {5, 0, 0, 0, 0, 0, 0, 0, 2};
	expect_reject(nullbuf, 9, dec_one_buffer, -EBADMSG);

	/* bitmaps: stride smaller than a row, rows beyond the buffer, bad format */
	hv_bitmap bm;
	REQUIRE_EQ(hv_bitmap_create(4, 4, HV_PIXEL_RGBA8888, &bm), 0);
	struct {
		uint32_t w, h, stride, fmt;
	} bad[] = {{4, 4, 15, 2}, {4, 5, 16, 2}, {4, 4, 16, 9}};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		hv_enc e;
		hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
		hv_enc_u32(&e, bad[i].w);
		hv_enc_u32(&e, bad[i].h);
		hv_enc_u32(&e, bad[i].stride);
		hv_enc_u32(&e, bad[i].fmt);
		hv_enc_buffer(&e, &bm.buffer);
		hv_msg *m = to_msg(&e);
		hv_dec d;
		hv_bitmap out;
		hv_dec_init(&d, m);
		REQUIRE(!hv_dec_bitmap(&d, &out));
		REQUIRE_EQ(d.err, -EBADMSG);
		hv_msg_destroy(m);
	}
	hv_bitmap_release(&bm);
}

static void put_hdr(uint8_t *p, uint32_t len, uint16_t id, uint8_t kind, uint8_t nfds, uint32_t rid)
{
	hv_frame_hdr h = {.len = len, .magic = 1, .id = id, .kind = kind, .nfds = nfds, .request_id = rid};
	hv_frame_hdr_write(p, &h);
}

static void feed(hv_rbuf *r, const void *p, size_t n)
{
	REQUIRE(hv_rbuf_prepare(r) >= (ssize_t)n);
	memcpy(r->buf + r->end, p, n);
	hv_rbuf_commit(r, n);
}

static void test_frames(void)
{
	hv_rbuf r;
	hv_frame f;
	const char *why;
	uint8_t b[64];

	/* Two frames fed a byte at a time, cut one by one. */
	hv_rbuf_init(&r);
	put_hdr(b, 3, 1, HV_MSG_ONEWAY, 0, 0);
	memcpy(b + 16, "abc", 3);
	put_hdr(b + 19, 0, 2, HV_MSG_REQUEST, 0, 9);
	for (int i = 0; i < 35; i++) {
		feed(&r, b + i, 1);
		int n = hv_frame_next(&r, &f, &why);
		if (i == 18) {
			REQUIRE_EQ(n, 1);
			REQUIRE(f.hdr.len == 3 && f.hdr.id == 1 && memcmp(f.payload, "abc", 3) == 0);
		} else if (i == 34) {
			REQUIRE_EQ(n, 1);
			REQUIRE(f.hdr.id == 2 && f.hdr.request_id == 9 && f.hdr.kind == HV_MSG_REQUEST);
		} else {
			REQUIRE_EQ(n, 0);
		}
	}
	REQUIRE_EQ(hv_rbuf_pending(&r), 0);
	hv_rbuf_release(&r);

	/* Header violations, each detected from the header alone. */
	struct {
		uint32_t len;
		uint16_t id;
		uint8_t kind, nfds;
		uint32_t rid;
		int err;
	} bad[] = {
		{HV_IPC_MAX_MESSAGE_SIZE + 1, 1, HV_MSG_ONEWAY, 0, 0, -EMSGSIZE},
		{0, 1, HV_MSG_ONEWAY, HV_IPC_MAX_FDS_PER_MESSAGE + 1, 0, -EMSGSIZE},
		{0, 1, 0, 0, 0, -EBADMSG},
		{0, 1, 6, 0, 0, -EBADMSG},
		{0, 1, HV_MSG_REQUEST, 0, 0, -EBADMSG},  /* request without id */
		{0, 0, HV_MSG_REQUEST, 0, 5, -EBADMSG},  /* message id 0 */
		{0, 1, HV_MSG_EVENT, 0, 5, -EBADMSG},    /* event with a request id */
		{0, 1, HV_MSG_ONEWAY, 0, 5, -EBADMSG},   /* one-way with a request id */
		{0, 1, HV_MSG_RESPONSE, 0, 0, -EBADMSG}, /* reply without id */
		{0, 1, HV_MSG_ERROR, 1, 4, -EBADMSG},    /* error with fds */
		{0, 1, HV_MSG_ONEWAY, 1, 0, -EBADMSG},   /* fds that never came */
	};
	for (size_t i = 0; i < HV_ARRAY_SIZE(bad); i++) {
		hv_rbuf_init(&r);
		put_hdr(b, bad[i].len, bad[i].id, bad[i].kind, bad[i].nfds, bad[i].rid);
		feed(&r, b, 16);
		why = NULL;
		REQUIRE_EQ(hv_frame_next(&r, &f, &why), bad[i].err);
		REQUIRE(why != NULL);
		hv_rbuf_release(&r);
	}

	/* Guards against: an error reply carrying an fd accepted (the caller
	 * never expects to close one). The fd is there, so only that rule
	 * can refuse it. */
	int efd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	hv_rbuf_init(&r);
	REQUIRE_EQ(hv_rbuf_push_fds(&r, &efd, 1), 0);
	put_hdr(b, 0, 1, HV_MSG_ERROR, 1, 4);
	feed(&r, b, 16);
	why = NULL;
	REQUIRE_EQ(hv_frame_next(&r, &f, &why), -EBADMSG);
	REQUIRE(why && strstr(why, "error reply carrying fds"));
	hv_rbuf_release(&r);

	/* Exactly HV_IPC_MAX_FDS_PER_MESSAGE fds: a frame, not a violation. */
	int many[HV_IPC_MAX_FDS_PER_MESSAGE];
	for (unsigned i = 0; i < HV_IPC_MAX_FDS_PER_MESSAGE; i++)
		REQUIRE((many[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	hv_rbuf_init(&r);
	REQUIRE_EQ(hv_rbuf_push_fds(&r, many, HV_IPC_MAX_FDS_PER_MESSAGE), 0);
	put_hdr(b, 0, 1, HV_MSG_ONEWAY, HV_IPC_MAX_FDS_PER_MESSAGE, 0);
	feed(&r, b, 16);
	REQUIRE_EQ(hv_frame_next(&r, &f, &why), 1);
	for (unsigned i = 0; i < HV_IPC_MAX_FDS_PER_MESSAGE; i++)
		close(f.fds[i]);
	hv_rbuf_release(&r);

	/* fds: matched by count; extra or orphaned fds are violations. */
	int fds[3];
	for (int i = 0; i < 3; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	hv_rbuf_init(&r);
	REQUIRE_EQ(hv_rbuf_push_fds(&r, fds, 2), 0);
	put_hdr(b, 1, 1, HV_MSG_ONEWAY, 2, 0);
	b[16] = 'x';
	feed(&r, b, 17);
	REQUIRE_EQ(hv_frame_next(&r, &f, &why), 1);
	REQUIRE(f.fds[0] == fds[0] && f.fds[1] == fds[1]);
	REQUIRE_EQ(hv_rbuf_check_fds(&r, &why), 0);
	close(f.fds[0]);
	close(f.fds[1]);
	REQUIRE_EQ(hv_rbuf_push_fds(&r, &fds[2], 1), 0);
	REQUIRE_EQ(hv_rbuf_check_fds(&r, &why), -EBADMSG); /* no frame claims it */
	hv_rbuf_release(&r);                               /* closes fds[2] */
	REQUIRE(fcntl(fds[2], F_GETFD) < 0);

	/* A large frame makes the buffer grow to hold it whole. */
	hv_rbuf_init(&r);
	size_t big = 300000;
	uint8_t *bb = calloc(1, big + 16);
	put_hdr(bb, (uint32_t)big, 1, HV_MSG_ONEWAY, 0, 0);
	size_t off = 0;
	while (off < big + 16) {
		ssize_t space = hv_rbuf_prepare(&r);
		REQUIRE(space > 0);
		size_t n = HV_MIN((size_t)space, big + 16 - off);
		memcpy(r.buf + r.end, bb + off, n);
		hv_rbuf_commit(&r, n);
		off += n;
		if (off < big + 16)
			REQUIRE_EQ(hv_frame_next(&r, &f, &why), 0);
	}
	REQUIRE_EQ(hv_frame_next(&r, &f, &why), 1);
	REQUIRE_EQ(f.hdr.len, big);
	free(bb);
	hv_rbuf_release(&r);
}

/* A reply encoder that knows its request (hv_enc.src) reuses the request
 * decoder's check for a String that is one of the request's own, and
 * checks everything else as always. */
static void test_reply_reuses_checks(void)
{
	hv_enc e;
	hv_enc_init(&e, &ep, 1, HV_MSG_REQUEST);
	hv_enc_string(&e, "name ✓");
	hv_enc_string(&e, "second");
	hv_msg *m = to_msg(&e);
	hv_dec d;
	const char *a, *b;
	hv_dec_init(&d, m);
	REQUIRE(hv_dec_string(&d, &a));
	REQUIRE(hv_dec_string(&d, &b));
	REQUIRE_EQ(hv_dec_finish(&d), 0);

	hv_enc r;
	hv_enc_init(&r, &ep, 1, HV_MSG_RESPONSE);
	r.src = m;
	hv_enc_string(&r, b);     /* one of the request's: same bytes out */
	hv_enc_string(&r, a + 1); /* inside one, not one: checked and sent */
	hv_enc_string(&r, "other");
	REQUIRE_EQ(r.err, 0);
	hv_msg *back = to_msg(&r);
	const char *x, *y, *z;
	hv_dec_init(&d, back);
	REQUIRE(hv_dec_string(&d, &x) && hv_dec_string(&d, &y) && hv_dec_string(&d, &z));
	REQUIRE_EQ(hv_dec_finish(&d), 0);
	REQUIRE(strcmp(x, "second") == 0 && strcmp(y, "ame ✓") == 0 && strcmp(z, "other") == 0);
	hv_msg_destroy(back);

	/* Invalid UTF-8 is still refused with a source set. */
	hv_enc_init(&r, &ep, 1, HV_MSG_RESPONSE);
	r.src = m;
	hv_enc_string(&r, "bad \xff");
	REQUIRE_EQ(r.err, -EILSEQ);
	hv_enc_release(&r);
	/* A view into the middle of a multi-byte character is checked too. */
	hv_enc_init(&r, &ep, 1, HV_MSG_RESPONSE);
	r.src = m;
	hv_enc_string(&r, strstr(a, "✓") + 1);
	REQUIRE_EQ(r.err, -EILSEQ);
	hv_enc_release(&r);
	hv_msg_destroy(m);
}

int main(void)
{
	test_magic();
	test_scalars();
	test_strings_bytes_containers();
	test_reply_reuses_checks();
	test_rejections();
	test_encoder_errors();
	test_buffers();
	test_shared_mappings();
	test_buffer_rejections();
	test_frames();
	printf("test-ipc-wire: ok\n");
	return 0;
}
