/* lib/ipc/conn-io.c — a connection's socket: the outgoing queue (coalesced
 * sends, fds attached to the first byte of their message, flushed at the
 * end of the loop iteration or at once past a threshold), backpressure for
 * a client that queues too much, reading (edge-triggered: a read that may
 * have left data schedules another) and cutting complete frames out of the
 * read buffer into messages, borrowed from it where they can be. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "conn.h"

/* --- output ------------------------------------------------------------- */
static void flush_deferred(hv_loop *loop, void *userdata)
{
	hv_conn *c = userdata;
	c->flush_scheduled = false;
	if (c->open)
		hv_conn_write_queue(c, 0);
	conn_unref(c);
}

static void schedule_flush(hv_conn *c)
{
	if (c->flush_scheduled || !c->loop)
		return;
	if (hv_loop_defer(c->loop, flush_deferred, c) == 0) {
		c->flush_scheduled = true;
		conn_ref(c);
	}
}

static void set_want_write(hv_conn *c, bool on)
{
	if (!c->watch)
		return;
	uint32_t ev = HV_IO_READ | HV_IO_EDGE | (on ? HV_IO_WRITE : 0);
	if (hv_watch_events(c->watch) != ev)
		hv_watch_set_events(c->watch, ev);
}

/* send_chunk()'s half for a message with fds: one sendmsg with SCM_RIGHTS. */
ssize_t hv_conn_sendmsg(int fd, const uint8_t *data, size_t len, const int *fds, unsigned nfds)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_IPC_MAX_FDS_PER_MESSAGE)];
		struct cmsghdr align;
	} ctl;
	if (nfds) {
		memset(ctl.buf, 0, CMSG_SPACE(sizeof(int) * nfds)); /* no uninitialised padding on the wire */
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	for (;;) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	}
}

/* Write the queue. timeout_ms 0: what the socket takes now, the rest when
 * it is writable again; otherwise block up to timeout_ms (-1: forever). */
int hv_conn_write_queue(hv_conn *c, int timeout_ms)
{
	uint64_t deadline = deadline_after(timeout_ms);
	while (c->open && c->out_off < c->out_len) {
		const int *fds = NULL;
		unsigned nfds = 0;
		size_t end = c->out_len;
		struct out_fds *of = c->ofd_head < c->ofd_len ? &c->ofds[c->ofd_head] : NULL;
		if (of && of->pos == c->out_off) {
			fds = of->fds;
			nfds = of->nfds;
			if (c->ofd_head + 1 < c->ofd_len)
				end = c->ofds[c->ofd_head + 1].pos;
		} else if (of) {
			end = of->pos;
		}
		ssize_t n = send_chunk(c->fd, c->out + c->out_off, end - c->out_off, fds, nfds);
		if (n == -EAGAIN) {
			if (timeout_ms == 0) {
				c->out_blocked = true;
				c->out_retry_at = c->out_len - c->out_off + HV_CONN_FLUSH_THRESHOLD;
				set_want_write(c, true);
				return 0;
			}
			int w = wait_fd(c->fd, POLLOUT, ms_left(deadline));
			if (w == 0)
				return -ETIMEDOUT;
			if (w < 0)
				return w;
			continue;
		}
		if (n < 0) {
			hv_log_debug("ipc: send failed: %s", strerror((int)-n));
			hv_conn_end(c, transport_reason((int)n));
			return (int)n;
		}
		if (nfds) {
			for (unsigned j = 0; j < nfds; j++)
				close(of->fds[j]);
			of->nfds = 0;
			c->ofd_head++;
		}
		c->out_off += (size_t)n;
	}
	if (!c->open)
		return c->end_reason;
	c->out_off = c->out_len = 0;
	c->ofd_head = c->ofd_len = 0;
	c->out_blocked = false;
	if (c->out_cap > (16u << 20)) {
		/* One burst must not pin a large buffer for the connection's life. */
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
		if (c->acct)
			hv_quota_charge(c);
	}
	set_want_write(c, false);
	return 0;
}

/* Append bytes of a finalized message to the queue; fds (duplicated: the
 * caller's stay the caller's) ride with the first of them. */
static int conn_enqueue_bytes(hv_conn *c, const uint8_t *data, size_t len, const int *fds,
			      unsigned nfds)
{
	size_t queued = c->out_len - c->out_off;
	if (queued + len > c->max_out_bytes) {
		hv_log_warn("ipc: dropping peer pid=%d uid=%d: it does not read (%zu bytes queued)",
			    (int)c->peer.pid, (int)c->peer.uid, queued);
		hv_conn_end(c, -ENOBUFS);
		return -ENOBUFS;
	}
	if (c->out_len + len > c->out_cap) {
		/* Compact only when at least half is already sent: moving a
		 * mostly-unsent queue on every append would be quadratic. */
		if (c->out_off > 0 && c->out_off >= c->out_cap / 2) {
			memmove(c->out, c->out + c->out_off, queued);
			for (size_t i = c->ofd_head; i < c->ofd_len; i++)
				c->ofds[i].pos -= c->out_off;
			c->out_len = queued;
			c->out_off = 0;
		}
		if (c->out_len + len > c->out_cap) {
			size_t cap = c->out_cap ? c->out_cap : 4096;
			while (cap < c->out_len + len)
				cap *= 2;
			uint8_t *nb = realloc(c->out, cap);
			if (!nb)
				return -ENOMEM;
			c->out = nb;
			c->out_cap = cap;
			if (c->acct && hv_quota_charge(c) < 0)
				return -EDQUOT; /* a peer that does not read */
		}
	}
	if (nfds) {
		if (c->ofd_head > 0 && c->ofd_head == c->ofd_len)
			c->ofd_head = c->ofd_len = 0;
		if (c->ofd_len == c->ofd_cap) {
			size_t cap = c->ofd_cap ? c->ofd_cap * 2 : 4;
			struct out_fds *t = reallocarray(c->ofds, cap, sizeof(*t));
			if (!t)
				return -ENOMEM;
			c->ofds = t;
			c->ofd_cap = cap;
		}
		struct out_fds *of = &c->ofds[c->ofd_len];
		of->pos = c->out_len;
		of->nfds = 0;
		for (unsigned i = 0; i < nfds; i++) {
			int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
			if (d < 0) {
				int r = -errno;
				for (unsigned j = 0; j < of->nfds; j++)
					close(of->fds[j]);
				return r;
			}
			of->fds[of->nfds++] = d;
		}
		c->ofd_len++;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

/* Append a finalized message to the queue (fds duplicated). */
int hv_conn_enqueue(hv_conn *c, hv_enc *e)
{
	return conn_enqueue_bytes(c, e->buf, e->len, e->fds, e->nfds);
}

/* A client with too much queued waits until the peer has read half of it
 * (or the connection's timeout). Meanwhile it keeps reading what the peer
 * sends (queued for dispatch, within the limits), so two peers that flood
 * each other cannot deadlock with both sockets full. */
static void conn_backpressure(hv_conn *c)
{
	uint64_t deadline = deadline_after(c->timeout_ms);
	conn_ref(c);
	while (c->open && c->out_len - c->out_off >= HV_CONN_CLIENT_BACKPRESSURE / 2) {
		hv_conn_write_queue(c, 0);
		if (!c->open || c->out_len - c->out_off < HV_CONN_CLIENT_BACKPRESSURE / 2)
			break;
		struct pollfd p = {.fd = c->fd, .events = POLLIN | POLLOUT};
		int w;
		do
			w = poll(&p, 1, ms_left(deadline));
		while (w < 0 && errno == EINTR);
		if (w <= 0)
			break;
		if (p.revents & POLLOUT)
			c->out_blocked = false;
		if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = hv_conn_read(c, false);
			if (n > 0)
				hv_conn_cut_frames(c);
		}
	}
	hv_conn_schedule_drain(c);
	conn_unref(c);
}

/* A reply with nothing queued before it and nothing else received to
 * answer (no later message to coalesce with; the caller waits): straight
 * from the encoder, its fds without a dup and a close. */
static int conn_send_reply_now(hv_conn *c, hv_enc *e)
{
	ssize_t n = send_chunk(c->fd, e->buf, e->len, e->fds, e->nfds);
	if (n == (ssize_t)e->len)
		return 0;
	int r;
	if (n >= 0) /* the rest of the frame; its fds went with its first byte */
		r = conn_enqueue_bytes(c, e->buf + n, e->len - (size_t)n, NULL, 0);
	else if (n == -EAGAIN)
		r = hv_conn_enqueue(c, e);
	else {
		hv_conn_end(c, transport_reason((int)n));
		return (int)n;
	}
	if (r == 0)
		r = hv_conn_write_queue(c, c->loop ? 0 : -1);
	return r;
}

/* conn_send() but the encoder's release. */
int hv_conn_send_frame(hv_conn *c, hv_enc *e, uint8_t kind, uint32_t request_id)
{
	if (e->err < 0)
		return e->err;
	if (!c->open)
		return c->end_reason;
	hv_enc_finalize(e, kind, request_id);
	if (c->trace)
		hv_conn_trace(c, "send", e->endpoint, e->message_id, kind, request_id,
			      e->len - HV_IPC_HEADER_SIZE, e->nfds);
	bool reply = kind == HV_MSG_RESPONSE || kind == HV_MSG_ERROR;
	if (reply && c->out_off == c->out_len && !c->out_blocked && !c->q_head &&
	    hv_rbuf_pending(&c->in) == 0)
		return conn_send_reply_now(c, e);
	int r = hv_conn_enqueue(c, e);
	if (r < 0)
		return r;
	if (!c->loop) {
		r = hv_conn_write_queue(c, -1); /* nobody would flush it later */
	} else if (!c->accepted && c->out_len - c->out_off >= HV_CONN_CLIENT_BACKPRESSURE) {
		/* Queued already; a timeout here only means it goes out later. */
		conn_backpressure(c);
		if (!c->open)
			r = c->end_reason;
	} else if (reply && !c->out_blocked && !c->q_head && hv_rbuf_pending(&c->in) == 0) {
		/* A reply with nothing else received to answer: no later message
		 * to coalesce with, so it goes now (the caller is waiting). */
		r = hv_conn_write_queue(c, 0);
	} else if (c->out_len - c->out_off >= (c->out_blocked ? c->out_retry_at : HV_CONN_FLUSH_THRESHOLD)) {
		r = hv_conn_write_queue(c, 0); /* blocked: retry once per 64 KiB more, not per message */
	} else {
		schedule_flush(c);
	}
	return r;
}

int hv_conn_flush(hv_conn *c)
{
	if (!c->open)
		return c->end_reason;
	return hv_conn_write_queue(c, -1);
}

/* hv_conn_send()'s general case, out of line: inlined, it made the bulk
 * case's prologue longer (callgrind: 5 instructions per message). */
static __attribute__((noinline)) int conn_send_general(hv_conn *c, hv_enc *e, uint8_t kind)
{
	return conn_send(c, e, kind, 0);
}

int hv_conn_send(hv_conn *c, hv_enc *e)
{
	uint8_t kind = e->kind;
	/* Generated code says ONEWAY; from the accepting side that is an event. */
	if (kind == HV_MSG_ONEWAY && c->accepted)
		kind = HV_MSG_EVENT;
	if (kind != HV_MSG_ONEWAY && kind != HV_MSG_EVENT) {
		hv_enc_release(e);
		return -EINVAL;
	}
	/* The bulk case, appended in place: a small message without fds that
	 * fits the queue's storage and leaves it under the flush threshold (or
	 * the retry mark, while the socket is full), on a connection whose loop
	 * flushes it: conn_send() would take the same branches (no limit, no
	 * backpressure, no flush now) at about twice the cost. */
	size_t after = c->out_len - c->out_off + e->len;
	if (!e->err && !e->nfds && e->buf == e->inline_buf && c->open && c->loop && !c->trace &&
	    c->out_len + e->len <= c->out_cap && after <= c->max_out_bytes &&
	    after < (c->out_blocked ? c->out_retry_at : HV_CONN_FLUSH_THRESHOLD) &&
	    (c->accepted || after < HV_CONN_CLIENT_BACKPRESSURE)) {
		hv_enc_finalize(e, kind, 0);
		memcpy(c->out + c->out_len, e->buf, e->len);
		c->out_len += e->len;
		schedule_flush(c);
		return 0;
	}
	return conn_send_general(c, e, kind);
}

/* --- input -------------------------------------------------------------- */
static void drain_deferred(hv_loop *loop, void *userdata)
{
	hv_conn *c = userdata;
	c->drain_scheduled = false;
	hv_conn_drain(c);
	conn_unref(c);
}

void hv_conn_schedule_drain(hv_conn *c)
{
	if (c->drain_scheduled || !c->loop || (!c->q_head && !hv_rbuf_pending(&c->in)))
		return;
	if (hv_loop_defer(c->loop, drain_deferred, c) == 0) {
		c->drain_scheduled = true;
		conn_ref(c);
	}
}

/* The watch is edge-triggered: no new event comes for data that was
 * already in the socket when a read returned, so a read that may have
 * left some (it filled the space offered, or stopped at a message with
 * fds, as AF_UNIX does) reads again once the loop turns. */
static void read_deferred(hv_loop *loop, void *userdata)
{
	hv_conn *c = userdata;
	c->read_scheduled = false;
	if (c->open) {
		hv_conn_read(c, false);
		hv_conn_drain(c);
	}
	conn_unref(c);
}

static void schedule_read(hv_conn *c)
{
	if (c->read_scheduled || !c->loop)
		return;
	if (hv_loop_defer(c->loop, read_deferred, c) == 0) {
		c->read_scheduled = true;
		conn_ref(c);
	} else {
		hv_conn_end(c, -ENOMEM); /* it would never be read again */
	}
}

static bool conn_tail_ok(const hv_conn *c);

/* The borrowed message's payload must outlive the read buffer's current
 * use (its call is held, a read comes during its dispatch — a handler's
 * sync call —, or a sync call's reply is still the caller's when the loop
 * reads): the message takes a reference to in.buf, which the connection
 * shares from then on (in_keep). Nothing is copied here: a burst of held
 * requests in one read shares that one buffer (a copy of the unparsed rest
 * per held call was quadratic, and pinned a 64 KiB buffer each). */
int hv_conn_unpin(hv_conn *c)
{
	hv_msg *m = c->borrowed;
	if (!c->in_keep) {
		struct hv_keep *k = malloc(sizeof(*k));
		if (!k)
			return -ENOMEM;
		*k = (struct hv_keep){.refs = 1, .buf = c->in.buf};
		c->in_keep = k;
	}
	c->in_keep->refs++;
	m->keep = c->in_keep;
	c->borrowed = NULL;
	return 0;
}

/* Can the next read go into a shared in.buf's free tail? It must hold the
 * frame being received and a fair chunk: a client whose held requests come
 * one per read then fills one buffer with many, not one buffer each. */
static bool conn_tail_ok(const hv_conn *c)
{
	const hv_rbuf *r = &c->in;
	size_t have = r->end - r->start, need = HV_RBUF_READ_CHUNK / 4;
	if (have >= HV_IPC_HEADER_SIZE) {
		uint32_t len;
		memcpy(&len, r->buf + r->start, 4);
		if ((size_t)len + HV_IPC_HEADER_SIZE > have)
			need = HV_MAX(need, (size_t)len + HV_IPC_HEADER_SIZE - have);
	}
	return r->buf && r->cap - r->end >= need;
}

/* Before a read: a shared in.buf is left to the messages using it and
 * reading continues in a new buffer with the unparsed bytes (once per
 * read that follows a hand-over, not per message). */
static int conn_unshare(hv_conn *c)
{
	hv_rbuf *r = &c->in;
	size_t have = r->end - r->start;
	uint8_t *nb = NULL;
	/* Room for what is unparsed (hv_rbuf_prepare grows it as needed), not
	 * the old capacity: that may be a large frame's. */
	size_t cap = HV_MAX(have, (size_t)HV_RBUF_READ_CHUNK);
	if (have) {
		nb = malloc(cap);
		if (!nb)
			return -ENOMEM;
		memcpy(nb, r->buf + r->start, have);
	}
	/* Nothing unparsed: hv_rbuf_prepare() allocates when reading. */
	r->buf = nb;
	r->cap = nb ? cap : 0;
	r->start = 0;
	r->end = have;
	hv_keep_unref(c->in_keep);
	c->in_keep = NULL;
	return 0;
}

/* The frame deadline (quota.c's watchdog): a frame is incomplete after a
 * drain. The same one as before, if it starts where that one did (its
 * clock runs on); a new one starts the clock. A drain that empties the
 * buffer stops it (conn_next). */
static void note_partial(hv_conn *c)
{
	if (!hv_rbuf_pending(&c->in))
		return;
	if (!c->partial_since || c->partial_at != c->in.start) {
		c->partial_since = hv_now_ns();
		c->partial_at = c->in.start;
	}
}

/* Cut the next complete frame out of the read buffer into a message:
 * 1 = *out, 0 = no complete frame (and no unclaimed fds), < 0 = the peer
 * broke the protocol (the connection has ended). With `borrow`, the
 * payload stays where it was received (c->borrowed), else it is copied. */
int hv_conn_cut_open(hv_conn *c, hv_msg **out, bool borrow)
{
	hv_frame f;
	const char *why = NULL;
	int r = hv_frame_next(&c->in, &f, &why);
	if (r == 0)
		r = hv_rbuf_check_fds(&c->in, &why);
	if (r < 0) {
		hv_conn_misbehave(c, "%s", why);
		return r;
	}
	if (r == 0) {
		if (c->acct)
			note_partial(c);
		return 0;
	}
	/* Borrowed: one message at a time — the one dispatched now (whatever
	 * its kind: a handler that holds its request makes conn_unpin hand it
	 * the buffer), or the reply a sync call waits for, which lives until
	 * the next call, before which nothing reads unless a loop turns in
	 * between (conn_unpin again). Messages queued for later are copied. */
	bool sync_reply = c->sync_id && f.hdr.request_id == c->sync_id && !c->sync_reply &&
			  (f.hdr.kind == HV_MSG_RESPONSE || f.hdr.kind == HV_MSG_ERROR);
	borrow = !c->borrowed && (borrow || sync_reply);
	hv_msg *m = msg_get(c, borrow ? 0 : f.hdr.len, borrow);
	if (!m) {
		for (unsigned i = 0; i < f.hdr.nfds; i++)
			close(f.fds[i]);
		hv_conn_end(c, -ENOMEM);
		return -ENOMEM;
	}
	m->magic = f.hdr.magic;
	m->id = f.hdr.id;
	m->kind = f.hdr.kind;
	m->request_id = f.hdr.request_id;
	m->len = f.hdr.len;
	m->lazy_buffers = c->lazy_buffers;
	if (borrow) {
		m->payload = f.payload;
		c->borrowed = m;
	} else {
		memcpy(m->buf, f.payload, f.hdr.len);
		m->buf[f.hdr.len] = 0;
	}
	m->nfds = f.hdr.nfds;
	if (f.hdr.nfds)
		memcpy(m->fds, f.fds, sizeof(int) * f.hdr.nfds);
	m->next = NULL;
	*out = m;
	return 1;
}

/* While a sync call waits: move every complete frame into messages, the
 * awaited reply aside and the rest queued in order, within the limits. */
int hv_conn_cut_frames(hv_conn *c)
{
	hv_msg *m;
	int r;
	while ((r = conn_cut_one(c, &m, false)) > 0) {
		if (c->sync_id && m->request_id == c->sync_id &&
		    (m->kind == HV_MSG_RESPONSE || m->kind == HV_MSG_ERROR) && !c->sync_reply) {
			/* Later frames stay in the read buffer for the loop's
			 * drain (schedule_drain) or the next call. */
			c->sync_reply = m;
			return 0;
		}
		if (c->q_tail)
			c->q_tail->next = m;
		else
			c->q_head = m;
		c->q_tail = m;
		c->q_bytes += m->len + HV_IPC_HEADER_SIZE;
		c->q_fds += m->nfds;
		if (c->acct && hv_quota_charge(c) < 0)
			return -EDQUOT;
		if (c->q_bytes > c->max_q_bytes || c->q_fds > c->max_q_fds) {
			hv_conn_misbehave(c, "over the queued-message limit (%zu bytes, %u fds undispatched)",
					  c->q_bytes, c->q_fds);
			return -EMSGSIZE;
		}
	}
	return r;
}

/* One recvmsg into the read buffer (waiting for data if `block`). Returns
 * >0 bytes read, -EAGAIN, or a negative errno after the connection ended. */
ssize_t hv_conn_read(hv_conn *c, bool block)
{
	size_t cap = c->in.cap;
	if (c->in_keep && c->in_keep->refs == 1 && !c->borrowed) {
		/* Every message that shared it is gone: the buffer is ours again. */
		free(c->in_keep);
		c->in_keep = NULL;
	}
	if (c->borrowed || c->in_keep) {
		int u = c->borrowed ? hv_conn_unpin(c) : 0;
		if (u == 0 && !conn_tail_ok(c))
			u = conn_unshare(c);
		if (u < 0) {
			hv_conn_end(c, u);
			return u;
		}
	}
	/* A shared buffer is only appended to (its users' bytes stay put). */
	ssize_t space = c->in_keep ? (ssize_t)(c->in.cap - c->in.end) : hv_rbuf_prepare(&c->in);
	if (space < 0) {
		hv_conn_end(c, (int)space);
		return space;
	}
	/* Grown for a large frame (its header is in), before reading it. */
	if (c->in.cap != cap && c->acct && hv_quota_charge(c) < 0)
		return -EDQUOT;
	union {
		char buf[CMSG_SPACE(sizeof(int) * HV_IPC_MAX_FDS_PER_MESSAGE)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = c->in.buf + c->in.end, .iov_len = (size_t)space};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl.buf)};
	ssize_t n;
	do
		n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		int r = -errno;
		hv_conn_end(c, transport_reason(r));
		return r;
	}
	int r = 0;
	bool more = n > 0 && (size_t)n == (size_t)space;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		more = true;
		unsigned nfds = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int fds[HV_IPC_MAX_FDS_PER_MESSAGE];
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * nfds);
		if (r < 0) {
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
			continue;
		}
		r = hv_rbuf_push_fds(&c->in, fds, nfds); /* closes them on failure */
		if (r == 0 && c->acct)
			r = hv_quota_charge_fds(c, (int)nfds); /* over quota: ended */
	}
	if (mh.msg_flags & MSG_CTRUNC) {
		hv_conn_misbehave(c, "sent more fds at once than a message may carry");
		return -EBADMSG;
	}
	if (r < 0) {
		hv_conn_misbehave(c, "over the queued-fd limit");
		return r;
	}
	if (n == 0) {
		/* Orderly close; a half-received frame is the peer's loss. */
		hv_conn_end(c, -ECONNRESET);
		return -ECONNRESET;
	}
	hv_rbuf_commit(&c->in, (size_t)n);
	c->nreads++;
	if (more)
		schedule_read(c);
	return n;
}

void hv_conn_io(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	hv_conn *c = userdata;
	conn_ref(c);
	if ((events & HV_IO_WRITE) && c->open) {
		c->out_blocked = false;
		hv_conn_write_queue(c, 0);
	}
	if ((events & (HV_IO_READ | HV_IO_ERROR)) && c->open) {
		hv_conn_read(c, false);
		hv_conn_drain(c);
	}
	conn_unref(c);
}
