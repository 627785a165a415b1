/* lib/ipc/frame.c — cutting frames out of a received byte stream and
 * matching them to the fds that arrived with them (see frame.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

void hv_frame_hdr_parse(const uint8_t *p, hv_frame_hdr *h)
{
	memcpy(&h->len, p, 4);
	memcpy(&h->magic, p + 4, 4);
	memcpy(&h->id, p + 8, 2);
	h->kind = p[10];
	h->nfds = p[11];
	memcpy(&h->request_id, p + 12, 4);
}

void hv_frame_hdr_write(uint8_t *p, const hv_frame_hdr *h)
{
	memcpy(p, &h->len, 4);
	memcpy(p + 4, &h->magic, 4);
	memcpy(p + 8, &h->id, 2);
	p[10] = h->kind;
	p[11] = h->nfds;
	memcpy(p + 12, &h->request_id, 4);
}

const char *hv_frame_hdr_check(const hv_frame_hdr *h)
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

void hv_rbuf_init(hv_rbuf *r) { *r = (hv_rbuf){0}; }

void hv_rbuf_release(hv_rbuf *r)
{
	for (unsigned i = 0; i < r->fd_count; i++)
		close(r->fds[(r->fd_head + i) % r->fd_cap]);
	free(r->fds);
	free(r->buf);
	*r = (hv_rbuf){0};
}

ssize_t hv_rbuf_prepare(hv_rbuf *r)
{
	if (r->start == r->end) {
		r->start = r->end = 0;
		if (r->cap > (4u << 20)) {
			/* After a large frame, give the memory back. */
			free(r->buf);
			r->buf = NULL;
			r->cap = 0;
		}
	}
	/* Room for the whole frame being received, so it is read in one go. */
	size_t want = HV_RBUF_READ_CHUNK;
	size_t have = r->end - r->start;
	if (have >= HV_IPC_HEADER_SIZE) {
		uint32_t len;
		memcpy(&len, r->buf + r->start, 4);
		if (len <= HV_IPC_MAX_MESSAGE_SIZE && (size_t)len + HV_IPC_HEADER_SIZE > have)
			want = HV_MAX(want, (size_t)len + HV_IPC_HEADER_SIZE - have);
	}
	if (r->cap - r->end >= want)
		return (ssize_t)(r->cap - r->end);
	if (r->start > 0 && r->cap - have >= want) {
		memmove(r->buf, r->buf + r->start, have);
		r->start = 0;
		r->end = have;
		return (ssize_t)(r->cap - r->end);
	}
	size_t cap = r->cap ? r->cap : HV_RBUF_READ_CHUNK;
	while (cap - have < want)
		cap *= 2;
	uint8_t *nb = malloc(cap);
	if (!nb)
		return -ENOMEM;
	if (have)
		memcpy(nb, r->buf + r->start, have);
	free(r->buf);
	r->buf = nb;
	r->cap = cap;
	r->start = 0;
	r->end = have;
	return (ssize_t)(r->cap - r->end);
}

void hv_rbuf_commit(hv_rbuf *r, size_t n) { r->end += n; }

int hv_rbuf_push_fds(hv_rbuf *r, const int *fds, unsigned n)
{
	if (!r->fds) {
		r->fd_cap = HV_IPC_MAX_QUEUED_FDS;
		r->fds = malloc(r->fd_cap * sizeof(int));
		if (!r->fds) {
			for (unsigned i = 0; i < n; i++)
				close(fds[i]);
			return -ENOMEM;
		}
	}
	if (n > r->fd_cap - r->fd_count) {
		for (unsigned i = 0; i < n; i++)
			close(fds[i]);
		return -EMSGSIZE;
	}
	for (unsigned i = 0; i < n; i++)
		r->fds[(r->fd_head + r->fd_count++) % r->fd_cap] = fds[i];
	return 0;
}

int hv_frame_next(hv_rbuf *r, hv_frame *f, const char **why)
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

int hv_rbuf_check_fds(const hv_rbuf *r, const char **why)
{
	if (r->fd_count == 0)
		return 0;
	size_t have = r->end - r->start;
	if (have == 0) {
		*why = "fds without a frame claiming them";
		return -EBADMSG;
	}
	if (have >= HV_IPC_HEADER_SIZE) {
		uint8_t nfds = r->buf[r->start + 11];
		if (r->fd_count > nfds) {
			*why = "more fds than the frame claims";
			return -EBADMSG;
		}
	}
	return 0;
}
