/* lib/ipc/frame.c — cutting frames out of a received byte stream and
 * matching them to the fds that arrived with them (see frame.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"

void hv_frame_hdr_write(uint8_t *p, const hv_frame_hdr *h)
{
	memcpy(p, &h->len, 4);
	memcpy(p + 4, &h->magic, 4);
	memcpy(p + 8, &h->id, 2);
	p[10] = h->kind;
	p[11] = h->nfds;
	memcpy(p + 12, &h->request_id, 4);
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
