/* fuzz-ipcc-stubs.c — libFuzzer target for the C that ipcc generates: every
 * request and reply decoder of tests/ipcc/AllTypes.ipc (which uses every
 * type: qualified names, flag sets, recursive types, Variants) on arbitrary
 * payloads and fds. Whatever decodes must re-encode to
 * exactly the input bytes, so a decoder can neither accept more than the
 * encoder produces nor lose information.
 * Input: byte 0 = message (low 4 bits: id - 1; bit 7: the reply rather
 * than the request), byte 1 = fd count (low 3 bits), then one byte per fd
 * choosing its kind (mod 3: /dev/null, sealed memfd, read-only sealed
 * memfd), then the payload.
 * The generated source is included so its static decoders are reachable.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "AllTypes.ipc.c"
#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pool[3] = {-1, -1, -1};

static void make_pool(void)
{
	/* A plain fd, a sealed memfd (a valid Buffer) and a read-only sealed one. */
	pool[0] = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int i = 1; i < 3; i++) {
		pool[i] = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (pool[i] >= 0 && ftruncate(pool[i], 4096) < 0)
			abort();
	}
	fcntl(pool[1], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	fcntl(pool[2], F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
}

/* Re-encode and compare with what was decoded. */
static void same_bytes(hv_enc *e, const uint8_t *payload, size_t len, const char *what)
{
	if (e->err) {
		fprintf(stderr, "%s: decoded but does not re-encode (%d)\n", what, e->err);
		abort();
	}
	size_t n = e->len - HV_IPC_HEADER_SIZE;
	if (n != len || memcmp(e->buf + HV_IPC_HEADER_SIZE, payload, len)) {
		fprintf(stderr, "%s: re-encoded %zu bytes differ from the %zu decoded\n", what, n, len);
		abort();
	}
#ifdef IPCC_STUBS_VERBOSE
	fprintf(stderr, "%s: decoded and re-encoded %zu bytes\n", what, len);
#endif
	hv_enc_release(e);
}

#define FUZZ_ONE(M, SIDE, KIND)                                                                   \
	do {                                                                                      \
		all_types_##M##_##SIDE v;                                                         \
		memset(&v, 0, sizeof(v));                                                         \
		if (dec_all_types_##M##_##SIDE(&d, &v) && hv_dec_finish(&d) == 0) {               \
			hv_enc e;                                                                 \
			hv_enc_init(&e, &all_types_endpoint, id, KIND);                           \
			enc_all_types_##M##_##SIDE(&e, &v);                                       \
			same_bytes(&e, payload, len, #M "_" #SIDE);                               \
		}                                                                                 \
	} while (0)
#define FUZZ_MSG(M)                                                                               \
	do {                                                                                      \
		if (reply)                                                                        \
			FUZZ_ONE(M, rep, HV_MSG_RESPONSE);                                        \
		else                                                                              \
			FUZZ_ONE(M, req, HV_MSG_REQUEST);                                         \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (pool[0] < 0)
		make_pool();
	if (size < 2)
		return 0;
	uint16_t id = (uint16_t)((data[0] & 15) + 1);
	bool reply = data[0] & 0x80;
	unsigned nfds = data[1] & 7;
	if (size < 2 + (size_t)nfds)
		return 0;
	const uint8_t *payload = data + 2 + nfds;
	size_t len = size - 2 - nfds;
	int fds[8];
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = fcntl(pool[data[2 + i] % 3], F_DUPFD_CLOEXEC, 0);
	hv_msg *m;
	if (hv_msg_new_raw(all_types_endpoint.magic, id, reply ? HV_MSG_RESPONSE : HV_MSG_REQUEST, 1, payload, len,
			   fds, nfds, &m) < 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
		return 0;
	}
	hv_dec d;
	hv_dec_init(&d, m);
	switch (id) {
	case ALL_TYPES_MSG_SCALARS: FUZZ_MSG(scalars); break;
	case ALL_TYPES_MSG_STRINGS: FUZZ_MSG(strings); break;
	case ALL_TYPES_MSG_CONTAINERS: FUZZ_MSG(containers); break;
	case ALL_TYPES_MSG_STRUCTS: FUZZ_MSG(structs); break;
	case ALL_TYPES_MSG_GFX: FUZZ_MSG(gfx); break;
	case ALL_TYPES_MSG_RESOURCES: FUZZ_MSG(resources); break;
	case ALL_TYPES_MSG_OLD_STYLE: FUZZ_MSG(old_style); break;
	case ALL_TYPES_MSG_LIMITED: FUZZ_MSG(limited); break;
	case ALL_TYPES_MSG_FAIL: FUZZ_MSG(fail); break;
	case ALL_TYPES_MSG_LATER: FUZZ_MSG(later); break;
	case ALL_TYPES_MSG_NOTIFY: FUZZ_ONE(notify, req, HV_MSG_ONEWAY); break;
	case ALL_TYPES_MSG_EMPTY: FUZZ_MSG(empty); break;
	case ALL_TYPES_MSG_QUALIFIED: FUZZ_MSG(qualified); break;
	case ALL_TYPES_MSG_FLAGS: FUZZ_MSG(flags); break;
	case ALL_TYPES_MSG_RECURSIVE: FUZZ_MSG(recursive); break;
	case ALL_TYPES_MSG_VARIANTS: FUZZ_MSG(variants); break;
	default: break;
	}
	hv_msg_destroy(m); /* closes the fds and unmaps the buffers decoding made */
	return 0;
}
