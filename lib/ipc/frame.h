/* lib/ipc/frame.h — internal: the receive side's frame parser.
 *
 * A connection reads the socket in large chunks into an hv_rbuf and queues
 * the fds that arrived with them (SCM_RIGHTS). hv_frame_next() cuts complete
 * frames out of that stream, checks each header against the protocol and
 * the limits, and hands each frame its fds by the header's fd count. It
 * does no I/O, so the fuzz target drives it with arbitrary byte streams. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

void hv_frame_hdr_write(uint8_t *p, const hv_frame_hdr *h);

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
/* After all complete frames are cut: fds that no frame can claim are a
 * protocol violation (-EBADMSG). */
int hv_rbuf_check_fds(const hv_rbuf *r, const char **why);
/* Unparsed bytes buffered. */
static inline size_t hv_rbuf_pending(const hv_rbuf *r) { return r->end - r->start; }

/* Inline below: they run once per message received (a call per message
 * from conn.c (now conn-io.c) cost ~15 instructions of ~400 per one-way message). */
static inline void hv_frame_hdr_parse(const uint8_t *p, hv_frame_hdr *h)
{
	memcpy(&h->len, p, 4);
	memcpy(&h->magic, p + 4, 4);
	memcpy(&h->id, p + 8, 2);
	h->kind = p[10];
	h->nfds = p[11];
	memcpy(&h->request_id, p + 12, 4);
}

/* Protocol checks of a header on its own: NULL if fine, else why not. */
static inline const char *hv_frame_hdr_check(const hv_frame_hdr *h)
{
	if (h->len > HV_IPC_MAX_MESSAGE_SIZE)
		return "frame larger than HV_IPC_MAX_MESSAGE_SIZE";
	if (h->nfds > HV_IPC_MAX_FDS_PER_MESSAGE)
		return "frame claims more than HV_IPC_MAX_FDS_PER_MESSAGE fds";
	switch (h->kind) {
	case HV_MSG_REQUEST:
		if (h->request_id == 0)
			return "request without a request id";
		if (h->id == 0)
			return "message id 0";
		break;
	case HV_MSG_RESPONSE:
	case HV_MSG_ERROR:
		if (h->request_id == 0)
			return "reply without a request id";
		break;
	case HV_MSG_ONEWAY:
	case HV_MSG_EVENT:
		if (h->request_id != 0)
			return "one-way message with a request id";
		if (h->id == 0)
			return "message id 0";
		break;
	default:
		return "unknown message kind";
	}
	if (h->kind == HV_MSG_ERROR && h->nfds)
		return "error reply carrying fds";
	return NULL;
}

/* Cut the next complete frame: 1 = *f filled, 0 = need more bytes,
 * -EBADMSG / -EMSGSIZE = protocol violation (*why says which). */
static inline int hv_frame_next(hv_rbuf *r, hv_frame *f, const char **why)
{
	size_t have = r->end - r->start;
	if (have < HV_IPC_HEADER_SIZE)
		return 0;
	/* Parsed in place: copying a just-written header struct as one 16-byte
	 * load stalls on store forwarding (measured: the parser's top cost). */
	hv_frame_hdr *h = &f->hdr;
	hv_frame_hdr_parse(r->buf + r->start, h);
	/* Checked as soon as the header is in, not when the payload is: an
	 * oversized frame must not make us buffer it first. */
	const char *bad = hv_frame_hdr_check(h);
	if (bad) {
		*why = bad;
		return h->len > HV_IPC_MAX_MESSAGE_SIZE || h->nfds > HV_IPC_MAX_FDS_PER_MESSAGE ? -EMSGSIZE
											   : -EBADMSG;
	}
	/* A frame's fds travel with its first byte, so once its header is
	 * here they must be too. */
	if (h->nfds > r->fd_count) {
		*why = "frame's fds did not arrive with it";
		return -EBADMSG;
	}
	if (have - HV_IPC_HEADER_SIZE < h->len)
		return 0;
	f->payload = r->buf + r->start + HV_IPC_HEADER_SIZE;
	for (unsigned i = 0; i < h->nfds; i++) {
		f->fds[i] = r->fds[r->fd_head];
		r->fd_head = (r->fd_head + 1) % r->fd_cap;
		r->fd_count--;
	}
	r->start += HV_IPC_HEADER_SIZE + h->len;
	return 1;
}
