/* lib/ipc/conn.c — connections: the outgoing queue (coalesced sendmsg with
 * fds attached to the first byte of their message), reading and framing,
 * sync calls (poll() on the socket, other messages queued for later),
 * async calls (request-id table), dispatch to served endpoints, the calls
 * handlers serve, misbehaviour and teardown.
 *
 * Lifetime: a connection is reference counted. The client's handle (or the
 * server, for accepted ones) holds one reference; dispatch and deferred
 * callbacks hold one while they run, so a handler may close its own
 * connection safely. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "frame.h"
#include "internal.h"
#include "msg.h"

#define HV_CONN_MAX_SERVED 8
/* Queued one-way bytes beyond this are flushed at once, not at the end of
 * the loop iteration. */
#define HV_CONN_FLUSH_THRESHOLD (64u << 10)
/* A client (the connecting side) that queues more than this waits for the
 * peer to read (backpressure) instead of growing its queue further. */
#define HV_CONN_CLIENT_BACKPRESSURE (4u << 20)
/* Recycled objects kept per connection (no malloc per message). */
#define HV_CONN_FREE_MSGS 32u
#define HV_CONN_FREE_CALLS 32u
#define HV_CONN_KEEP_PAYLOAD (64u << 10)
/* How long hv_conn_close() tries to hand queued messages to a slow peer. */
#define HV_CONN_CLOSE_FLUSH_MS 2000

/* A sync call is not in the table while it waits (c->sync_id names it);
 * only if it gives up does its id go in, abandoned, so that a late reply is
 * dropped rather than taken for misbehaviour. */
enum pend_state { PEND_EMPTY = 0, PEND_ASYNC, PEND_ABANDONED };

struct pending {
	uint32_t id;
	uint8_t state;
	uint16_t msg_id;
	const hv_endpoint *ep;
	hv_reply_cb cb;
	void *userdata;
};

struct out_fds {
	size_t pos; /* offset in out of the message's first byte */
	unsigned nfds;
	int fds[HV_IPC_MAX_FDS_PER_MESSAGE]; /* dup'd, closed once sent */
};

struct hv_call {
	hv_call *next, *prev; /* free list, or the connection's held list */
	hv_conn *conn;        /* NULL once the connection is gone */
	hv_msg *msg;
	const hv_endpoint *ep;
	hv_arena arena;
	int fail_code;
	const char *fail_msg;
	bool held, responded, in_dispatch;
};

struct hv_conn {
	hv_loop *loop;
	int fd;
	hv_watch *watch;
	hv_server *server;
	struct ucred peer;
	unsigned refs;
	bool open, accepted, trace, flush_scheduled, drain_scheduled, draining;
	bool read_scheduled; /* edge-triggered watch: a read may have left data */
	bool out_blocked; /* the socket said EAGAIN: wait for writability... */
	size_t out_retry_at; /* ...or until this much is queued (loop not turning) */
	bool closed;      /* hv_conn_close() was called */
	bool lazy_buffers; /* received Buffers/Bitmaps stay unmapped until mapped */
	int end_reason;

	struct {
		const hv_endpoint *ep;
		const void *handlers;
	} served[HV_CONN_MAX_SERVED];
	unsigned nserved;
	void *userdata;
	hv_conn_cb on_disconnect;
	void *on_disconnect_ud;
	int timeout_ms;
	hv_ipc_error last_error;
	char *last_error_buf;

	/* input */
	hv_rbuf in;
	/* Set while in.buf is shared with messages that still use it (see
	 * conn_unpin): the connection may cut further frames from it, but must
	 * not write, move or free it; the next read moves on to a new one. */
	struct hv_keep *in_keep;
	/* The message being dispatched straight from `in` (its payload a view
	 * into in.buf, not a copy); NULL if none. While it lives, in.buf must
	 * not move: a read first hands the buffer to it (conn_unpin). */
	hv_msg *borrowed;
	hv_msg *q_head, *q_tail; /* received, not yet dispatched */
	size_t q_bytes;
	unsigned q_fds;
	size_t max_q_bytes;
	unsigned max_q_fds;
	hv_msg *free_msgs;
	unsigned n_free_msgs;
	hv_call *free_calls;
	unsigned n_free_calls;
	hv_call *held;
	hv_arena ow_arena; /* for one-way messages' and events' calls */

	/* output */
	uint8_t *out;
	size_t out_off, out_len, out_cap, max_out_bytes;
	struct out_fds *ofds;
	size_t ofd_head, ofd_len, ofd_cap;

	/* calls */
	uint32_t next_id;
	struct pending *pend;
	size_t pend_cap, pend_count;
	uint32_t sync_id;
	hv_msg *sync_reply;
};

static void conn_drain(hv_conn *c);
static int conn_flush(hv_conn *c, int timeout_ms);
static int conn_unpin(hv_conn *c);

/* --- small helpers ------------------------------------------------------ */
static void conn_ref(hv_conn *c) { c->refs++; }

static inline void msg_put(hv_conn *c, hv_msg *m);
static void call_destroy(hv_call *call);

static void conn_free(hv_conn *c)
{
	if (c->borrowed && conn_unpin(c) < 0) {
		/* Its call was held when unpinning failed, and again now: the
		 * buffer stays allocated (a leak rather than a dangling view). */
		hv_log_error("ipc: no memory to hand a read buffer to a held call");
		c->in.buf = NULL;
		c->borrowed = NULL;
	}
	if (c->in_keep) {
		c->in.buf = NULL; /* the held messages' now */
		hv_keep_unref(c->in_keep);
		c->in_keep = NULL;
	}
	hv_rbuf_release(&c->in);
	for (hv_msg *m = c->q_head, *n; m; m = n) {
		n = m->next;
		hv_msg_destroy(m);
	}
	for (hv_msg *m = c->free_msgs, *n; m; m = n) {
		n = m->next;
		hv_msg_destroy(m);
	}
	hv_msg_destroy(c->sync_reply);
	for (hv_call *k = c->free_calls, *n; k; k = n) {
		n = k->next;
		hv_arena_release(&k->arena);
		free(k);
	}
	/* Held calls outlive us: they answer into the void and free themselves. */
	for (hv_call *k = c->held, *n; k; k = n) {
		n = k->next;
		k->conn = NULL;
		k->next = k->prev = NULL;
	}
	for (size_t i = c->ofd_head; i < c->ofd_len; i++)
		for (unsigned j = 0; j < c->ofds[i].nfds; j++)
			close(c->ofds[i].fds[j]);
	hv_arena_release(&c->ow_arena);
	free(c->ofds);
	free(c->out);
	free(c->pend);
	free(c->last_error_buf);
	hv_watch_free(c->watch);
	hv_close(&c->fd);
	free(c);
}

void hv_conn_unref(hv_conn *c)
{
	if (c && --c->refs == 0)
		conn_free(c);
}

static void set_error(hv_conn *c, int code, const char *message, bool remote)
{
	char *m = strdup(message ? message : "");
	free(c->last_error_buf);
	c->last_error_buf = m;
	c->last_error = (hv_ipc_error){.code = code, .message = m ? m : "", .remote = remote};
}

static const char *msg_name(const hv_endpoint *ep, uint16_t id)
{
	if (ep && ep->message_names && id >= 1 && id <= ep->message_count)
		return ep->message_names[id - 1];
	return "?";
}

static const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {"?", "request", "response", "error", "oneway", "event"};
	return kind < HV_ARRAY_SIZE(names) ? names[kind] : "?";
}

static const hv_endpoint *served_ep(const hv_conn *c, uint32_t magic, const void **handlers)
{
	for (unsigned i = 0; i < c->nserved; i++)
		if (c->served[i].ep->magic == magic) {
			if (handlers)
				*handlers = c->served[i].handlers;
			return c->served[i].ep;
		}
	return NULL;
}

static void trace(hv_conn *c, const char *dir, const hv_endpoint *ep, uint16_t id, uint8_t kind,
		  uint32_t request_id, size_t size, unsigned nfds)
{
	fprintf(stderr, "%s[%d]: ipc %s %s.%s %s id=%u size=%zu fds=%u\n", program_invocation_short_name,
		(int)getpid(), dir, ep ? ep->name : "?", msg_name(ep, id), kind_name(kind), request_id, size,
		nfds);
}

/* --- pending calls: open addressing on the request id ------------------- */
static size_t pend_slot(uint32_t id, size_t cap) { return (id * 2654435761u) & (cap - 1); }

static struct pending *pend_find(hv_conn *c, uint32_t id)
{
	if (!c->pend_count)
		return NULL;
	for (size_t i = pend_slot(id, c->pend_cap);; i = (i + 1) & (c->pend_cap - 1)) {
		if (c->pend[i].state == PEND_EMPTY)
			return NULL;
		if (c->pend[i].id == id)
			return &c->pend[i];
	}
}

static int pend_insert(hv_conn *c, const struct pending *p)
{
	if ((c->pend_count + 1) * 2 > c->pend_cap) {
		size_t cap = c->pend_cap ? c->pend_cap * 2 : 16;
		struct pending *t = calloc(cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < c->pend_cap; i++) {
			if (c->pend[i].state == PEND_EMPTY)
				continue;
			size_t j = pend_slot(c->pend[i].id, cap);
			while (t[j].state != PEND_EMPTY)
				j = (j + 1) & (cap - 1);
			t[j] = c->pend[i];
		}
		free(c->pend);
		c->pend = t;
		c->pend_cap = cap;
	}
	size_t j = pend_slot(p->id, c->pend_cap);
	while (c->pend[j].state != PEND_EMPTY)
		j = (j + 1) & (c->pend_cap - 1);
	c->pend[j] = *p;
	c->pend_count++;
	return 0;
}

/* Backward-shift deletion: no tombstones, lookups stay short. */
static void pend_remove(hv_conn *c, struct pending *p)
{
	size_t mask = c->pend_cap - 1, i = (size_t)(p - c->pend);
	c->pend[i].state = PEND_EMPTY;
	c->pend_count--;
	for (size_t j = (i + 1) & mask; c->pend[j].state != PEND_EMPTY; j = (j + 1) & mask) {
		size_t home = pend_slot(c->pend[j].id, c->pend_cap);
		/* Move j into the hole i if its home is not in (i, j]. */
		bool between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!between) {
			c->pend[i] = c->pend[j];
			c->pend[j].state = PEND_EMPTY;
			i = j;
		}
	}
}

static uint32_t new_request_id(hv_conn *c)
{
	for (;;) {
		uint32_t id = ++c->next_id;
		if (id != 0 && !pend_find(c, id))
			return id;
	}
}

/* --- messages and calls: recycled per connection ------------------------ */
/* A message with room for len payload bytes; with `view`, its payload will
 * be a view elsewhere (no room needed). */
static hv_msg *msg_get(hv_conn *c, size_t len, bool view)
{
	hv_msg *m = c->free_msgs;
	if (m) {
		c->free_msgs = m->next;
		c->n_free_msgs--;
		m->next = NULL;
		if (!view && hv_msg_reserve(m, len) < 0) {
			hv_msg_destroy(m);
			return NULL;
		}
		return m;
	}
	return hv_msg_alloc(len);
}

/* The general release: close, unmap, free what the message still holds,
 * then recycle it (or free it). */
static void msg_put_slow(hv_conn *c, hv_msg *m)
{
	if (!m)
		return;
	if (c && c->borrowed == m)
		c->borrowed = NULL;
	hv_msg_clear(m);
	if (!c || c->n_free_msgs >= HV_CONN_FREE_MSGS || m->cap > HV_CONN_KEEP_PAYLOAD) {
		hv_msg_destroy(m);
		return;
	}
	m->next = c->free_msgs;
	c->free_msgs = m;
	c->n_free_msgs++;
}

/* The usual message (nothing to close, unmap or free, room on the free
 * list) is recycled inline: once per message dispatched. */
static inline void msg_put(hv_conn *c, hv_msg *m)
{
	if (m && c && !m->nfds && !m->maps && !m->keep && !m->arena.used_total &&
	    c->n_free_msgs < HV_CONN_FREE_MSGS && m->cap <= HV_CONN_KEEP_PAYLOAD) {
		if (c->borrowed == m)
			c->borrowed = NULL;
		m->fds_consumed = 0;
		m->given = false;
		m->nchecked = 0;
		m->len = 0;
		m->payload = m->buf;
		m->next = c->free_msgs;
		c->free_msgs = m;
		c->n_free_msgs++;
		return;
	}
	msg_put_slow(c, m);
}

static hv_call *call_get(hv_conn *c)
{
	hv_call *k = c->free_calls;
	if (k) {
		c->free_calls = k->next;
		c->n_free_calls--;
	} else {
		k = calloc(1, sizeof(*k));
		if (!k)
			return NULL;
	}
	hv_arena arena = k->arena;
	*k = (hv_call){.conn = c, .arena = arena};
	return k;
}

/* Free a call that is done (answered, or never needed an answer). */
static void call_destroy(hv_call *k)
{
	hv_conn *c = k->conn;
	if (k->held) {
		if (k->prev)
			k->prev->next = k->next;
		else if (c && c->held == k)
			c->held = k->next;
		if (k->next)
			k->next->prev = k->prev;
	}
	msg_put(c, k->msg);
	k->msg = NULL;
	if (k->arena.used_total) /* most calls reply without it */
		hv_arena_reset(&k->arena);
	if (c && c->n_free_calls < HV_CONN_FREE_CALLS) {
		k->next = c->free_calls;
		c->free_calls = k;
		c->n_free_calls++;
		return;
	}
	hv_arena_release(&k->arena);
	free(k);
}

/* --- ending ------------------------------------------------------------- */
void hv_conn_end(hv_conn *c, int reason)
{
	if (!c->open)
		return;
	c->open = false;
	c->end_reason = reason;
	conn_ref(c);
	hv_watch_free(c->watch);
	c->watch = NULL;
	hv_close(&c->fd);

	for (size_t i = c->ofd_head; i < c->ofd_len; i++)
		for (unsigned j = 0; j < c->ofds[i].nfds; j++)
			close(c->ofds[i].fds[j]);
	c->ofd_head = c->ofd_len = 0;
	c->out_off = c->out_len = 0;
	for (hv_msg *m = c->q_head, *n; m; m = n) {
		n = m->next;
		msg_put(c, m);
	}
	c->q_head = c->q_tail = NULL;
	c->q_bytes = 0;
	c->q_fds = 0;

	/* Every pending async call learns it once; sync waiters see !open. */
	if (c->pend_count) {
		struct pending *t = c->pend;
		size_t cap = c->pend_cap;
		c->pend = NULL;
		c->pend_cap = c->pend_count = 0;
		set_error(c, reason, "connection closed", false);
		for (size_t i = 0; i < cap; i++)
			if (t[i].state == PEND_ASYNC)
				t[i].cb(c, reason, NULL, t[i].userdata);
		free(t);
	}
	if (c->on_disconnect)
		c->on_disconnect(c, c->on_disconnect_ud);
	if (c->server)
		hv_server_conn_ended(c->server, c);
	hv_conn_unref(c);
}

void hv_conn_misbehave(hv_conn *c, const char *fmt, ...)
{
	if (!c->open)
		return;
	char why[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	hv_log_warn("ipc: %s: dropping peer pid=%d uid=%d: %s", c->nserved ? c->served[0].ep->name : "client",
		    (int)c->peer.pid, (int)c->peer.uid, why);
	hv_conn_end(c, -EBADMSG);
}

/* --- output ------------------------------------------------------------- */
static void flush_deferred(hv_loop *loop, void *userdata)
{
	hv_conn *c = userdata;
	c->flush_scheduled = false;
	if (c->open)
		conn_flush(c, 0);
	hv_conn_unref(c);
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

/* One sendmsg; fds ride with the first byte of their message. Returns bytes
 * written, -EAGAIN, or another negative errno. */
static ssize_t send_chunk(int fd, const uint8_t *data, size_t len, const int *fds, unsigned nfds)
{
	if (nfds == 0) {
		/* send(): no msghdr to copy in, measurably cheaper per message. */
		for (;;) {
			ssize_t n = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n >= 0)
				return n;
			if (errno == EINTR)
				continue;
			return errno == EWOULDBLOCK ? -EAGAIN : -errno;
		}
	}
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

static int wait_fd(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	for (;;) {
		int r = poll(&p, 1, timeout_ms);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

static int ms_left(uint64_t deadline_ns)
{
	if (deadline_ns == UINT64_MAX)
		return -1;
	uint64_t now = hv_now_ns();
	if (now >= deadline_ns)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static uint64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : hv_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

static int transport_reason(int r) { return r == -EPIPE || r == -ECONNRESET ? r : -ECONNRESET; }

/* Write the queue. timeout_ms 0: what the socket takes now, the rest when
 * it is writable again; otherwise block up to timeout_ms (-1: forever). */
static int conn_flush(hv_conn *c, int timeout_ms)
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
static int conn_enqueue(hv_conn *c, hv_enc *e)
{
	return conn_enqueue_bytes(c, e->buf, e->len, e->fds, e->nfds);
}

static int conn_cut_frames(hv_conn *c);
static ssize_t conn_read(hv_conn *c, bool block);
static void schedule_drain(hv_conn *c);

/* A client with too much queued waits until the peer has read half of it
 * (or the connection's timeout). Meanwhile it keeps reading what the peer
 * sends (queued for dispatch, within the limits), so two peers that flood
 * each other cannot deadlock with both sockets full. */
static void conn_backpressure(hv_conn *c)
{
	uint64_t deadline = deadline_after(c->timeout_ms);
	conn_ref(c);
	while (c->open && c->out_len - c->out_off >= HV_CONN_CLIENT_BACKPRESSURE / 2) {
		conn_flush(c, 0);
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
			ssize_t n = conn_read(c, false);
			if (n > 0)
				conn_cut_frames(c);
		}
	}
	schedule_drain(c);
	hv_conn_unref(c);
}

/* Queue a message with kind and request id, then flush now or later. */
static int conn_send(hv_conn *c, hv_enc *e, uint8_t kind, uint32_t request_id)
{
	int r = e->err;
	if (r < 0)
		goto out;
	if (!c->open) {
		r = c->end_reason;
		goto out;
	}
	hv_enc_finalize(e, kind, request_id);
	if (c->trace)
		trace(c, "send", e->endpoint, e->message_id, kind, request_id, e->len - HV_IPC_HEADER_SIZE,
		      e->nfds);
	if ((kind == HV_MSG_RESPONSE || kind == HV_MSG_ERROR) && c->out_off == c->out_len &&
	    !c->out_blocked && !c->q_head && hv_rbuf_pending(&c->in) == 0) {
		/* A reply with nothing queued before it and nothing else received
		 * to answer (no later message to coalesce with; the caller waits):
		 * straight from the encoder, its fds without a dup and a close. */
		ssize_t n = send_chunk(c->fd, e->buf, e->len, e->fds, e->nfds);
		if (n == (ssize_t)e->len)
			goto out;
		if (n >= 0) /* the rest of the frame; its fds went with its first byte */
			r = conn_enqueue_bytes(c, e->buf + n, e->len - (size_t)n, NULL, 0);
		else if (n == -EAGAIN)
			r = conn_enqueue(c, e);
		else {
			hv_conn_end(c, transport_reason((int)n));
			r = (int)n;
			goto out;
		}
		if (r == 0)
			r = conn_flush(c, c->loop ? 0 : -1);
		goto out;
	}
	r = conn_enqueue(c, e);
	if (r < 0)
		goto out;
	if (!c->loop) {
		r = conn_flush(c, -1); /* nobody would flush it later */
	} else if (!c->accepted && c->out_len - c->out_off >= HV_CONN_CLIENT_BACKPRESSURE) {
		/* Queued already; a timeout here only means it goes out later. */
		conn_backpressure(c);
		if (!c->open)
			r = c->end_reason;
	} else if ((kind == HV_MSG_RESPONSE || kind == HV_MSG_ERROR) && !c->out_blocked && !c->q_head &&
		   hv_rbuf_pending(&c->in) == 0) {
		/* A reply with nothing else received to answer: no later message
		 * to coalesce with, so it goes now (the caller is waiting). */
		r = conn_flush(c, 0);
	} else if (c->out_len - c->out_off >= (c->out_blocked ? c->out_retry_at : HV_CONN_FLUSH_THRESHOLD)) {
		r = conn_flush(c, 0); /* blocked: retry once per 64 KiB more, not per message */
	} else {
		schedule_flush(c);
	}
out:
	if (e->buf != e->inline_buf) /* the usual small message: nothing to free */
		hv_enc_release(e);
	return r < 0 ? r : 0;
}

int hv_conn_flush(hv_conn *c)
{
	if (!c->open)
		return c->end_reason;
	return conn_flush(c, -1);
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
	return conn_send(c, e, kind, 0);
}

/* --- input -------------------------------------------------------------- */
static void drain_deferred(hv_loop *loop, void *userdata)
{
	hv_conn *c = userdata;
	c->drain_scheduled = false;
	conn_drain(c);
	hv_conn_unref(c);
}

static void schedule_drain(hv_conn *c)
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
		conn_read(c, false);
		conn_drain(c);
	}
	hv_conn_unref(c);
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
static int conn_unpin(hv_conn *c)
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

/* Cut the next complete frame out of the read buffer into a message:
 * 1 = *out, 0 = no complete frame (and no unclaimed fds), < 0 = the peer
 * broke the protocol (the connection has ended). With `borrow`, the
 * payload stays where it was received (c->borrowed), else it is copied. */
static int conn_cut_one(hv_conn *c, hv_msg **out, bool borrow)
{
	if (!c->open)
		return c->end_reason;
	hv_frame f;
	const char *why = NULL;
	int r = hv_frame_next(&c->in, &f, &why);
	if (r == 0)
		r = hv_rbuf_check_fds(&c->in, &why);
	if (r < 0) {
		hv_conn_misbehave(c, "%s", why);
		return r;
	}
	if (r == 0)
		return 0;
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
static int conn_cut_frames(hv_conn *c)
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
		if (c->q_bytes > c->max_q_bytes || c->q_fds > c->max_q_fds) {
			hv_conn_misbehave(c, "over the queued-message limit (%zu bytes, %u fds undispatched)",
					  c->q_bytes, c->q_fds);
			return -EMSGSIZE;
		}
	}
	return r;
}

/* The next message to dispatch: queued ones first (they are older), then
 * frames still in the read buffer — cut one at a time, so a read of many
 * frames needs one recycled message, not one allocation each. */
static int conn_next(hv_conn *c, hv_msg **out)
{
	hv_msg *m = c->q_head;
	if (!m) {
		if (c->open && !hv_rbuf_pending(&c->in) && !c->in.fd_count)
			return 0; /* the usual end of a drain: nothing buffered */
		return conn_cut_one(c, out, !c->borrowed);
	}
	c->q_head = m->next;
	if (!c->q_head)
		c->q_tail = NULL;
	c->q_bytes -= m->len + HV_IPC_HEADER_SIZE;
	c->q_fds -= m->nfds;
	m->next = NULL;
	*out = m;
	return 1;
}

/* One recvmsg into the read buffer (waiting for data if `block`). Returns
 * >0 bytes read, -EAGAIN, or a negative errno after the connection ended. */
static ssize_t conn_read(hv_conn *c, bool block)
{
	if (c->in_keep && c->in_keep->refs == 1 && !c->borrowed) {
		/* Every message that shared it is gone: the buffer is ours again. */
		free(c->in_keep);
		c->in_keep = NULL;
	}
	if (c->borrowed || c->in_keep) {
		int u = c->borrowed ? conn_unpin(c) : 0;
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
		if (r == 0)
			r = hv_rbuf_push_fds(&c->in, fds, nfds);
		else
			for (unsigned i = 0; i < nfds; i++)
				close(fds[i]);
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
	if (more)
		schedule_read(c);
	return n;
}

static int decode_error(hv_msg *m, int *code, const char **message)
{
	hv_dec d;
	int32_t v;
	hv_dec_init(&d, m);
	hv_dec_i32(&d, &v);
	hv_dec_string(&d, message);
	int r = hv_dec_finish(&d);
	if (r < 0)
		return r;
	if (v >= 0)
		return -EBADMSG;
	*code = v;
	return 0;
}

static void process_reply(hv_conn *c, hv_msg *m)
{
	struct pending *p = pend_find(c, m->request_id);
	if (!p) {
		hv_conn_misbehave(c, "reply to request id %u that was never sent", m->request_id);
		msg_put(c, m);
		return;
	}
	struct pending pe = *p;
	pend_remove(c, p);
	if (c->trace)
		trace(c, "recv", pe.ep, pe.msg_id, m->kind, m->request_id, m->len, m->nfds);
	if (pe.state != PEND_ASYNC) {
		/* The caller gave up (timeout): nobody wants it any more. */
		hv_log_debug("ipc: ignoring late reply to request id %u", m->request_id);
		msg_put(c, m);
		return;
	}
	if (m->kind == HV_MSG_ERROR) {
		int code;
		const char *message;
		if (decode_error(m, &code, &message) < 0) {
			msg_put(c, m);
			hv_conn_misbehave(c, "malformed error reply");
			pe.cb(c, -EBADMSG, NULL, pe.userdata);
			return;
		}
		set_error(c, code, message, true);
		msg_put(c, m);
		pe.cb(c, code, NULL, pe.userdata);
		return;
	}
	pe.cb(c, 0, m, pe.userdata);
	msg_put(c, m);
}

static void process_incoming(hv_conn *c, hv_msg *m)
{
	const void *handlers = NULL;
	const hv_endpoint *ep = served_ep(c, m->magic, &handlers);
	if (c->trace)
		trace(c, "recv", ep, m->id, m->kind, m->request_id, m->len, m->nfds);
	if (!ep) {
		hv_conn_misbehave(c, "message for an endpoint not served here (magic %08x)", m->magic);
		msg_put(c, m);
		return;
	}
	if (m->id > ep->message_count) {
		hv_conn_misbehave(c, "unknown message id %u for %s", m->id, ep->name);
		msg_put(c, m);
		return;
	}
	/* Events go server -> client only (a socketpair's two ends both send
	 * one-way messages, so those are accepted from either side). */
	if (m->kind == HV_MSG_EVENT && c->accepted) {
		hv_conn_misbehave(c, "%s sent in the wrong direction", kind_name(m->kind));
		msg_put(c, m);
		return;
	}
	if (m->kind != HV_MSG_REQUEST) {
		/* A one-way message or event: nothing can hold or answer it
		 * (hv_call_hold refuses), so its call lives on the stack, with the
		 * connection's spare arena (taken while in use: a nested dispatch
		 * gets a fresh one), instead of a recycled heap call. */
		hv_call ow = {.conn = c, .msg = m, .ep = ep, .arena = c->ow_arena, .in_dispatch = true};
		c->ow_arena = (hv_arena)HV_ARENA_INIT;
		int r = ep->dispatch(&ow, m, handlers);
		if (r == -EBADMSG || r == -EILSEQ || r == -EMSGSIZE)
			hv_conn_misbehave(c, "malformed %s.%s (%s)", ep->name, msg_name(ep, m->id),
					  strerror(-r));
		if (ow.arena.used_total)
			hv_arena_reset(&ow.arena);
		if (!c->ow_arena.head)
			c->ow_arena = ow.arena;
		else
			hv_arena_release(&ow.arena);
		msg_put(c, m);
		return;
	}
	hv_call *k = call_get(c);
	if (!k) {
		msg_put(c, m);
		hv_conn_end(c, -ENOMEM);
		return;
	}
	k->msg = m;
	k->ep = ep;
	k->in_dispatch = true;
	int r = ep->dispatch(k, m, handlers);
	k->in_dispatch = false;
	if (r < 0) {
		if (r == -EBADMSG || r == -EILSEQ || r == -EMSGSIZE) {
			hv_conn_misbehave(c, "malformed %s.%s (%s)", ep->name, msg_name(ep, m->id),
					  strerror(-r));
		} else if (m->kind == HV_MSG_REQUEST && !k->responded && !k->held) {
			hv_call_respond_error(k, r, NULL);
		}
	}
	if (k->held && !k->responded)
		return; /* answered later; the call keeps the message */
	if (m->kind == HV_MSG_REQUEST && !k->responded && c->open)
		hv_call_respond_error(k, -EIO, "handler sent no reply");
	call_destroy(k);
}

static void process(hv_conn *c, hv_msg *m)
{
	if (m->kind == HV_MSG_RESPONSE || m->kind == HV_MSG_ERROR)
		process_reply(c, m);
	else
		process_incoming(c, m);
}

/* Dispatch queued messages in arrival order. Not re-entered: a nested
 * dispatch (a handler's sync call) only queues. */
static void conn_drain(hv_conn *c)
{
	if (c->draining)
		return;
	c->draining = true;
	conn_ref(c);
	hv_msg *m;
	while (c->open && !c->sync_id && conn_next(c, &m) > 0)
		process(c, m);
	c->draining = false;
	hv_conn_unref(c);
}

static void conn_io(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	hv_conn *c = userdata;
	conn_ref(c);
	if ((events & HV_IO_WRITE) && c->open) {
		c->out_blocked = false;
		conn_flush(c, 0);
	}
	if ((events & (HV_IO_READ | HV_IO_ERROR)) && c->open) {
		conn_read(c, false);
		conn_drain(c);
	}
	hv_conn_unref(c);
}

/* --- creation ----------------------------------------------------------- */
static int conn_new(hv_loop *loop, int fd, hv_server *server, hv_conn **out)
{
	hv_conn *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->loop = loop;
	c->fd = fd;
	c->server = server;
	c->accepted = server != NULL;
	c->refs = 1;
	c->open = true;
	c->timeout_ms = -1;
	c->trace = hv_log_ipc_trace();
	c->max_q_bytes = HV_IPC_MAX_QUEUED_BYTES;
	c->max_q_fds = HV_IPC_MAX_QUEUED_FDS;
	c->max_out_bytes = HV_IPC_MAX_OUTGOING_BYTES;
	c->last_error = (hv_ipc_error){.message = ""};
	hv_rbuf_init(&c->in);
	/* A blocking socket: every non-blocking operation passes MSG_DONTWAIT,
	 * and a sync call without timeout waits in recvmsg itself (one syscall
	 * fewer per round trip than poll + recvmsg). */
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || ((fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)) {
		int r = -errno;
		conn_free(c);
		return r;
	}
	/* A byte stream only: reads of a SOCK_SEQPACKET/SOCK_DGRAM socket stop
	 * at each packet, which the edge-triggered watch never reports again
	 * (the rest would wait for the next packet), and truncate frames
	 * larger than the space offered. */
	int type = 0;
	socklen_t sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0 || type != SOCK_STREAM) {
		int r = type ? -EPROTOTYPE : -errno;
		conn_free(c);
		return r;
	}
	sl = sizeof(c->peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &sl) < 0) {
		int r = -errno;
		conn_free(c);
		return r;
	}
	if (loop) {
		/* Edge-triggered: the kernel does not re-poll the socket on every
		 * wait after an event (measured ~0.1 us per round trip); a read
		 * that may have left data behind schedules another (conn_read). */
		int r = hv_loop_add_fd(loop, fd, HV_IO_READ | HV_IO_EDGE, conn_io, c, &c->watch);
		if (r < 0) {
			conn_free(c);
			return r;
		}
	}
	*out = c;
	return 0;
}

int hv_conn_from_fd(hv_loop *loop, int fd, hv_conn **out)
{
	if (fd < 0)
		return -EBADF;
	return conn_new(loop, fd, NULL, out);
}

int hv_conn_new_accepted(hv_server *s, hv_loop *loop, int fd, const hv_endpoint *ep,
			 const void *handlers, hv_conn **out)
{
	hv_conn *c;
	int r = conn_new(loop, fd, s, &c);
	if (r < 0)
		return r;
	hv_conn_serve(c, ep, handlers);
	*out = c;
	return 0;
}

int hv_conn_connect(hv_loop *loop, const char *path, hv_conn **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		if (errno != EINTR)
			return -errno;
	return conn_new(loop, HV_TAKE_FD(fd), NULL, out);
}

int hv_portal_path(const char *name, char *buf, size_t size)
{
	if (!name || !*name || strchr(name, '/'))
		return -EINVAL;
	const char *dir = getenv("HAVEN_PORTAL_DIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (dir && *dir)
		n = snprintf(buf, size, "%s/%s", dir, name);
	else if (xdg && *xdg)
		n = snprintf(buf, size, "%s/haven/portal/%s", xdg, name);
	else
		n = snprintf(buf, size, "/run/haven/portal/%s", name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int hv_conn_connect_portal(hv_loop *loop, const char *name, hv_conn **out)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int r = hv_portal_path(name, path, sizeof(path));
	if (r < 0)
		return r;
	return hv_conn_connect(loop, path, out);
}

void hv_conn_close(hv_conn *c)
{
	if (!c)
		return;
	/* An accepted connection's reference is its server's, dropped when it
	 * ends; a client's is the caller's. */
	if (c->closed)
		return; /* e.g. again from its own disconnect callback */
	c->closed = true;
	bool accepted = c->accepted;
	if (!accepted)
		conn_ref(c);
	if (c->open) {
		/* A server never waits for one client: what the socket takes now. */
		conn_flush(c, accepted ? 0 : HV_CONN_CLOSE_FLUSH_MS);
		hv_conn_end(c, -ECONNRESET);
	}
	if (!accepted) {
		hv_conn_unref(c);
		hv_conn_unref(c);
	}
}

/* --- accessors ---------------------------------------------------------- */
int hv_conn_serve(hv_conn *c, const hv_endpoint *ep, const void *handlers)
{
	if (!ep || !ep->dispatch)
		return -EINVAL;
	for (unsigned i = 0; i < c->nserved; i++)
		if (c->served[i].ep->magic == ep->magic) {
			c->served[i].ep = ep;
			c->served[i].handlers = handlers;
			return 0;
		}
	if (c->nserved == HV_CONN_MAX_SERVED)
		return -ENOSPC;
	c->served[c->nserved].ep = ep;
	c->served[c->nserved].handlers = handlers;
	c->nserved++;
	return 0;
}

void hv_conn_set_lazy_buffers(hv_conn *c, bool on) { c->lazy_buffers = on; }
void hv_conn_set_userdata(hv_conn *c, void *userdata) { c->userdata = userdata; }
void *hv_conn_userdata(const hv_conn *c) { return c->userdata; }
void hv_conn_on_disconnect(hv_conn *c, hv_conn_cb cb, void *userdata)
{
	c->on_disconnect = cb;
	c->on_disconnect_ud = userdata;
}
bool hv_conn_is_open(const hv_conn *c) { return c->open; }
int hv_conn_fd(const hv_conn *c) { return c->fd; }
hv_loop *hv_conn_loop(const hv_conn *c) { return c->loop; }
hv_server *hv_conn_server(const hv_conn *c) { return c->server; }
const struct ucred *hv_conn_peer(const hv_conn *c) { return &c->peer; }
void hv_conn_set_timeout(hv_conn *c, int timeout_ms) { c->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms; }
const hv_ipc_error *hv_conn_last_error(const hv_conn *c) { return &c->last_error; }

const char *hv_conn_strerror(const hv_conn *c, int r)
{
	const hv_ipc_error *e = c ? &c->last_error : NULL;

	if (e && e->remote && e->code == r && e->message && e->message[0])
		return e->message;
	return strerror(r < 0 ? -r : r);
}

void hv_conn_set_limits(hv_conn *c, size_t max_queued_bytes, unsigned max_queued_fds,
			size_t max_outgoing_bytes)
{
	c->max_q_bytes = HV_MIN(max_queued_bytes, (size_t)HV_IPC_MAX_QUEUED_BYTES);
	c->max_q_fds = HV_MIN(max_queued_fds, HV_IPC_MAX_QUEUED_FDS);
	c->max_out_bytes = HV_MIN(max_outgoing_bytes, (size_t)HV_IPC_MAX_OUTGOING_BYTES);
}

/* --- calls -------------------------------------------------------------- */
int hv_conn_call(hv_conn *c, hv_enc *e, int timeout_ms, hv_msg **reply)
{
	if (reply)
		*reply = NULL;
	msg_put(c, c->sync_reply);
	c->sync_reply = NULL;
	int r = e->err;
	if (r < 0) {
		hv_enc_release(e);
		set_error(c, r, "message could not be encoded", false);
		return r;
	}
	if (!c->open) {
		hv_enc_release(e);
		set_error(c, c->end_reason, "connection closed", false);
		return c->end_reason;
	}
	if (c->sync_id) {
		hv_enc_release(e); /* a sync call from a callback of a sync call */
		return -EDEADLK;
	}
	if (c->pend_count >= HV_IPC_MAX_PENDING_CALLS) {
		hv_enc_release(e);
		return -EAGAIN;
	}
	uint32_t id = new_request_id(c);
	const hv_endpoint *ep = e->endpoint;
	uint16_t msg_id = e->message_id;
	uint64_t deadline = deadline_after(timeout_ms < 0 ? c->timeout_ms : timeout_ms);
	conn_ref(c);
	c->sync_id = id;

	/* Send: straight from the encoder when nothing is queued before it
	 * (the common case: one sendmsg, no copy), else behind the queue. */
	hv_enc_finalize(e, HV_MSG_REQUEST, id);
	if (c->trace)
		trace(c, "send", ep, msg_id, HV_MSG_REQUEST, id, e->len - HV_IPC_HEADER_SIZE, e->nfds);
	if (c->out_off == c->out_len) {
		size_t off = 0;
		while (c->open && off < e->len) {
			ssize_t n = send_chunk(c->fd, e->buf + off, e->len - off, e->fds, off ? 0 : e->nfds);
			if (n == -EAGAIN) {
				int w = wait_fd(c->fd, POLLOUT, ms_left(deadline));
				if (w <= 0) {
					/* Part of a frame may be out: the stream cannot be resynchronised. */
					r = w == 0 ? -ETIMEDOUT : w;
					hv_conn_end(c, r);
					break;
				}
				continue;
			}
			if (n < 0) {
				hv_conn_end(c, transport_reason((int)n));
				r = (int)n;
				break;
			}
			off += (size_t)n;
		}
	} else {
		r = conn_enqueue(c, e);
		if (r == 0)
			r = conn_flush(c, ms_left(deadline));
	}
	hv_enc_release(e);

	/* Wait for our reply; everything else is queued for the loop. */
	while (r >= 0) {
		/* Usually nothing is buffered before the first read. */
		if ((hv_rbuf_pending(&c->in) || c->in.fd_count) && conn_cut_frames(c) < 0) {
			r = c->end_reason;
			break;
		}
		if (!c->open) {
			r = c->end_reason;
			break;
		}
		if (c->sync_reply)
			break;
		bool block = deadline == UINT64_MAX;
		if (!block) {
			int w = wait_fd(c->fd, POLLIN, ms_left(deadline));
			if (w < 0) {
				r = w;
				break;
			}
			if (w == 0) {
				r = -ETIMEDOUT;
				break;
			}
		}
		ssize_t n = conn_read(c, block);
		if (n < 0 && n != -EAGAIN)
			r = c->open ? (int)n : c->end_reason;
	}
	c->sync_id = 0;
	if (!c->open && r >= 0 && !c->sync_reply)
		r = c->end_reason;

	if (c->sync_reply) {
		hv_msg *m = c->sync_reply;
		if (c->trace)
			trace(c, "recv", ep, msg_id, m->kind, id, m->len, m->nfds);
		if (m->kind == HV_MSG_ERROR) {
			int code;
			const char *message;
			if (decode_error(m, &code, &message) < 0) {
				hv_conn_misbehave(c, "malformed error reply");
				r = -EBADMSG;
			} else {
				set_error(c, code, message, true);
				r = code;
			}
			msg_put(c, m);
			c->sync_reply = NULL;
		} else {
			r = 0;
			c->last_error = (hv_ipc_error){.code = 0, .message = "", .remote = false};
			if (reply)
				*reply = m;
		}
	} else {
		/* A late reply is dropped, not misbehaviour (without memory for
		 * the entry it would end the connection: logged). */
		if (c->open && pend_insert(c, &(struct pending){.id = id, .state = PEND_ABANDONED,
							       .ep = ep, .msg_id = msg_id}) < 0)
			hv_log_warn("ipc: no memory to remember abandoned request id %u", id);
		set_error(c, r, r == -ETIMEDOUT ? "timed out" : "connection closed", false);
	}
	schedule_drain(c);
	hv_conn_unref(c);
	return r;
}

int hv_conn_call_async(hv_conn *c, hv_enc *e, hv_reply_cb cb, void *userdata)
{
	if (!cb) {
		hv_enc_release(e);
		return -EINVAL;
	}
	if (!c->open) {
		hv_enc_release(e);
		return c->end_reason;
	}
	if (e->err < 0)
		return conn_send(c, e, HV_MSG_REQUEST, 0);
	if (c->pend_count >= HV_IPC_MAX_PENDING_CALLS) {
		hv_enc_release(e);
		return -EAGAIN;
	}
	uint32_t id = new_request_id(c);
	int r = pend_insert(c, &(struct pending){.id = id, .state = PEND_ASYNC, .ep = e->endpoint,
						 .msg_id = e->message_id, .cb = cb, .userdata = userdata});
	if (r < 0) {
		hv_enc_release(e);
		return r;
	}
	r = conn_send(c, e, HV_MSG_REQUEST, id);
	if (r < 0) {
		/* Ended while sending: cb already ran with the reason (exactly once). */
		if (!c->open)
			return 0;
		struct pending *p = pend_find(c, id);
		if (p)
			pend_remove(c, p);
	}
	return r;
}

int hv_conn_dispatch(hv_conn *c, int timeout_ms)
{
	if (!c->open)
		return c->end_reason;
	int r = conn_flush(c, -1);
	if (r < 0)
		return r;
	conn_ref(c);
	int count = 0;
	hv_msg *m;
	int k = conn_next(c, &m);
	if (k == 0) {
		int w = wait_fd(c->fd, POLLIN, timeout_ms);
		if (w > 0) {
			ssize_t n = conn_read(c, false);
			if (n < 0 && n != -EAGAIN)
				r = (int)n;
			k = c->open ? conn_next(c, &m) : 0;
		} else if (w < 0) {
			r = w;
		}
	}
	/* Counted here rather than in conn_drain: the caller wants how many
	 * messages this call handled. */
	while (k > 0) {
		process(c, m);
		count++;
		k = c->open ? conn_next(c, &m) : 0;
	}
	if (c->open && c->out_off < c->out_len)
		conn_flush(c, -1);
	if (r >= 0 && !c->open && count == 0)
		r = c->end_reason;
	hv_conn_unref(c);
	return r < 0 ? r : count;
}

/* --- the call a handler serves ------------------------------------------ */
hv_conn *hv_call_conn(const hv_call *call) { return call->conn; }
const struct ucred *hv_call_peer(const hv_call *call)
{
	static const struct ucred none = {.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	return call->conn ? &call->conn->peer : &none;
}
enum hv_msg_kind hv_call_kind(const hv_call *call) { return (enum hv_msg_kind)call->msg->kind; }
void *hv_call_alloc(hv_call *call, size_t size) { return hv_arena_alloc(&call->arena, size); }
void *hv_call_calloc(hv_call *call, size_t count, size_t size)
{
	return hv_arena_calloc(&call->arena, count, size);
}
char *hv_call_strdup(hv_call *call, const char *s) { return hv_arena_strdup(&call->arena, s); }

static char *call_vprintf(hv_call *call, const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		return NULL;
	char *s = hv_arena_alloc(&call->arena, (size_t)n + 1);
	if (s)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *hv_call_printf(hv_call *call, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = call_vprintf(call, fmt, ap);
	va_end(ap);
	return s;
}

int hv_call_fail(hv_call *call, int code, const char *fmt, ...)
{
	if (code >= 0)
		code = -EIO;
	va_list ap;
	va_start(ap, fmt);
	call->fail_msg = fmt ? call_vprintf(call, fmt, ap) : NULL;
	va_end(ap);
	call->fail_code = code;
	return code;
}

int hv_call_take_fd(hv_call *call, int fd) { return hv_msg_take_fd(call->msg, fd); }
int hv_call_take_buffer(hv_call *call, const hv_buffer *b) { return hv_msg_take_buffer(call->msg, b); }
int hv_call_map_buffer(hv_call *call, hv_buffer *b) { return hv_msg_map_buffer(call->msg, b); }

hv_call *hv_call_hold(hv_call *call)
{
	/* Only a request has a reply to defer; a held one-way message or event
	 * could never be released (nothing responds to it). */
	if (call->msg->kind != HV_MSG_REQUEST)
		return NULL;
	if (call->held || !call->conn)
		return call;
	hv_conn *c = call->conn;
	/* The request's views must outlive this dispatch: its payload cannot
	 * stay in the read buffer, which moves on. */
	if (c->borrowed && c->borrowed == call->msg && conn_unpin(c) < 0) {
		hv_log_error("ipc: no memory to hold a call; ending the connection");
		hv_conn_end(c, -ENOMEM); /* conn_free hands it the buffer */
	}
	call->held = true;
	call->prev = NULL;
	call->next = c->held;
	if (c->held)
		c->held->prev = call;
	c->held = call;
	return call;
}

void hv_call_reply_init(hv_call *call, hv_enc *e)
{
	hv_enc_init(e, call->ep, call->msg->id, HV_MSG_RESPONSE);
	e->src = call->msg;
}

/* Replies of held calls free the call once sent; during dispatch the
 * runtime frees it when the handler returns. */
static int call_finish(hv_call *call, int r)
{
	call->responded = true;
	if (call->held && !call->in_dispatch)
		call_destroy(call);
	return r;
}

int hv_call_respond(hv_call *call, hv_enc *e)
{
	if (call->responded || call->msg->kind != HV_MSG_REQUEST) {
		hv_enc_release(e);
		return -EALREADY;
	}
	hv_conn *c = call->conn;
	int r;
	if (!c || !c->open) {
		hv_enc_release(e);
		r = -ECONNRESET;
	} else if (e->err < 0) {
		/* The reply could not be encoded (e.g. invalid UTF-8 in a result):
		 * the caller gets that as an error rather than nothing. */
		int err = e->err;
		hv_enc_release(e);
		return hv_call_respond_error(call, err, "reply could not be encoded");
	} else {
		r = conn_send(c, e, HV_MSG_RESPONSE, call->msg->request_id);
	}
	return call_finish(call, r);
}

int hv_call_respond_error(hv_call *call, int code, const char *message)
{
	if (call->responded || call->msg->kind != HV_MSG_REQUEST)
		return -EALREADY;
	if (code >= 0)
		code = -EIO;
	if (!message)
		message = call->fail_code == code && call->fail_msg ? call->fail_msg : strerror(-code);
	hv_conn *c = call->conn;
	int r = -ECONNRESET;
	if (c && c->open) {
		hv_enc e;
		hv_enc_init(&e, call->ep, call->msg->id, HV_MSG_ERROR);
		hv_enc_i32(&e, code);
		hv_enc_string(&e, message);
		if (e.err == -EILSEQ) {
			hv_enc_release(&e);
			hv_enc_init(&e, call->ep, call->msg->id, HV_MSG_ERROR);
			hv_enc_i32(&e, code);
			hv_enc_string(&e, "(message was not valid UTF-8)");
		}
		r = conn_send(c, &e, HV_MSG_ERROR, call->msg->request_id);
	}
	return call_finish(call, r);
}
