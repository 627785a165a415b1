/* lib/ipc/frame.h — internal: the receive side's frame parser.
 *
 * A connection reads the socket in large chunks into an hv_rbuf and queues
 * the fds that arrived with them (SCM_RIGHTS). hv_frame_next() cuts complete
 * frames out of that stream, checks each header against the protocol and
 * the limits, and hands each frame its fds by the header's fd count. It
 * does no I/O, so the fuzz target drives it with arbitrary byte streams. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <haven/ipc.h>

typedef struct hv_frame_hdr {
	uint32_t len;
	uint32_t magic;
	uint16_t id;
	uint8_t kind;
	uint8_t nfds;
	uint32_t request_id;
} hv_frame_hdr;

typedef struct hv_rbuf {
	uint8_t *buf;
	size_t start, end, cap; /* unparsed bytes are buf[start, end) */
	int *fds;               /* ring of received, unclaimed fds */
	unsigned fd_head, fd_count, fd_cap;
} hv_rbuf;

/* A frame cut out of the stream: payload points into the rbuf and is valid
 * until the next hv_rbuf_* call; fds were moved out of the ring into fds[]. */
typedef struct hv_frame {
	hv_frame_hdr hdr;
	const uint8_t *payload;
	int fds[HV_IPC_MAX_FDS_PER_MESSAGE];
} hv_frame;

#define HV_RBUF_READ_CHUNK (64u << 10)

void hv_frame_hdr_parse(const uint8_t *p, hv_frame_hdr *h);
void hv_frame_hdr_write(uint8_t *p, const hv_frame_hdr *h);
/* Protocol checks of a header on its own: NULL if fine, else why not. */
const char *hv_frame_hdr_check(const hv_frame_hdr *h);

void hv_rbuf_init(hv_rbuf *r);
void hv_rbuf_release(hv_rbuf *r); /* frees, closes queued fds */
/* Free space to read into at buf + end: at least HV_RBUF_READ_CHUNK, and
 * enough for the whole frame being received. Returns the space or -ENOMEM. */
ssize_t hv_rbuf_prepare(hv_rbuf *r);
/* Account n bytes read into buf + end. */
void hv_rbuf_commit(hv_rbuf *r, size_t n);
/* Queue fds received with the last bytes; -EMSGSIZE past the fd limit
 * (the fds are closed then). */
int hv_rbuf_push_fds(hv_rbuf *r, const int *fds, unsigned n);
/* Cut the next complete frame: 1 = *f filled, 0 = need more bytes,
 * -EBADMSG / -EMSGSIZE = protocol violation (*why says which). */
int hv_frame_next(hv_rbuf *r, hv_frame *f, const char **why);
/* After all complete frames are cut: fds that no frame can claim are a
 * protocol violation (-EBADMSG). */
int hv_rbuf_check_fds(const hv_rbuf *r, const char **why);
/* Unparsed bytes buffered. */
static inline size_t hv_rbuf_pending(const hv_rbuf *r) { return r->end - r->start; }
