/* fuzz/ipc/fuzz-ipc-decode.c — arbitrary payload bytes and fds into the
 * decoder, through a hand-written schema that uses every wire type.
 * Input: byte 0 = fd count (mod 9), then one byte per fd choosing its kind
 * (/dev/null, sealed memfd, sealed read-only memfd, unsealed memfd), then
 * the payload. Nothing may crash, leak or read out of bounds; whatever
 * decodes must have consumed exactly the payload and the fds. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pool[4];

static void make_pool(void)
{
	pool[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 1; i < 4; i++) {
		pool[i] = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		(void)!ftruncate(pool[i], 64);
	}
	fcntl(pool[1], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	fcntl(pool[2], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
}

static void decode_all(hv_msg *m)
{
	hv_dec d;
	hv_dec_init(&d, m);
	bool b;
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
	const char *s;
	hv_bytes by;
	size_t n;
	int fd;
	hv_buffer buf;
	hv_bitmap bm;
	hv_dec_bool(&d, &b);
	hv_dec_u8(&d, &u8);
	hv_dec_u16(&d, &u16);
	hv_dec_u32(&d, &u32);
	hv_dec_u64(&d, &u64);
	hv_dec_i8(&d, &i8);
	hv_dec_i16(&d, &i16);
	hv_dec_i32(&d, &i32);
	hv_dec_i64(&d, &i64);
	hv_dec_f32(&d, &f);
	hv_dec_f64(&d, &df);
	if (hv_dec_string(&d, &s))
		(void)strlen(s);
	if (hv_dec_bytestring(&d, &s))
		(void)strlen(s);
	if (hv_dec_bytes(&d, &by) && by.len)
		(void)by.data[by.len - 1];
	/* Vector<u32> */
	if (hv_dec_count(&d, 4, &n)) {
		uint32_t *a = hv_dec_alloc(&d, n, sizeof(*a));
		for (size_t i = 0; a && i < n; i++)
			hv_dec_u32(&d, &a[i]);
	}
	/* HashMap<String, i64> */
	if (hv_dec_count(&d, 5 + 8, &n)) {
		struct {
			const char *k;
			int64_t v;
		} *e = hv_dec_alloc(&d, n, sizeof(*e));
		for (size_t i = 0; e && i < n; i++)
			if (!hv_dec_string(&d, &e[i].k) || !hv_dec_i64(&d, &e[i].v))
				break;
	}
	/* Optional<String> */
	if (hv_dec_present(&d, &b) && b)
		hv_dec_string(&d, &s);
	/* struct { u16; String } */
	hv_dec_u16(&d, &u16);
	hv_dec_string(&d, &s);
	/* enum (u32) with enumerators 0..2 */
	if (hv_dec_u32(&d, &u32) && u32 > 2)
		d.err = -EBADMSG;
	/* File, Buffer, Bitmap, Vector<File> */
	hv_dec_fd(&d, &fd);
	if (hv_dec_buffer(&d, &buf) && buf.size)
		(void)((volatile uint8_t *)buf.data)[buf.size - 1];
	if (hv_dec_bitmap(&d, &bm) && (size_t)bm.stride * bm.height > 0)
		(void)((volatile uint8_t *)bm.buffer.data)[(size_t)bm.stride * bm.height - 1];
	if (hv_dec_count(&d, 0, &n))
		for (size_t i = 0; i < n; i++)
			if (!hv_dec_fd(&d, &fd))
				break;
	if (hv_dec_finish(&d) == 0 && (d.p != d.end || d.next_fd != m->nfds))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!pool[0])
		make_pool();
	if (size < 1)
		return 0;
	unsigned nfds = data[0] % 9;
	if (size < 1 + nfds)
		return 0;
	int fds[8];
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = fcntl(pool[data[1 + i] % 4], F_DUPFD_CLOEXEC, 3);
	hv_msg *m;
	if (hv_msg_new_raw(1, 1, HV_MSG_REQUEST, 1, data + 1 + nfds, size - 1 - nfds, fds, nfds, &m) < 0)
		return 0;
	decode_all(m);
	hv_msg_destroy(m); /* closes the fds and unmaps buffers */
	return 0;
}
