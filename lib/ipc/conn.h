/* lib/ipc/conn.h — private to the connection code (conn.c, conn-io.c,
 * conn-call.c): the connection and call objects, and the helpers that run
 * once per message, kept static inline here so that splitting the code in
 * files costs the message path no call. Not installed.
 *
 *   conn.c       creation, ending and teardown, accessors, serving
 *   conn-io.c    the socket: output queue and flushing, backpressure,
 *                reading, cutting frames into messages
 *   conn-call.c  calls: the pending-call table, sync and async calls,
 *                dispatch of received messages, the call a handler serves
 *                and its replies */
#pragma once

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include <haven/ipc.h>

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

/* hv_conn_attach: a library's data kept with the connection. */
struct conn_attachment {
	struct conn_attachment *next;
	const void *key;
	void *data;
	void (*free_fn)(void *data);
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
	struct conn_attachment *attached; /* hv_conn_attach */
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

	/* accounting: an accepted connection's charges to its peer's uid
	 * (quota.c); acct is NULL on the client side and once ended */
	struct hv_ipc_account *acct;
	struct hv_quota *quota;
	hv_conn *acct_next, *acct_prev, *acct_victim;
	size_t charged_bytes;
	unsigned charged_fds;
	/* The frame deadline: when the frame now incomplete was first seen
	 * (0: none), and where it starts in the read buffer. */
	uint64_t partial_since;
	size_t partial_at;
	/* The idle timeout: reads so far, as the watchdog last saw them. */
	unsigned nreads, nreads_seen;
	uint64_t idle_since;
};

/* --- conn.c ------------------------------------------------------------- */
/* The last error, as hv_conn_last_error() reports it. */
void hv_conn_set_error(hv_conn *c, int code, const char *message, bool remote);
/* One line on stderr per message sent or received (HAVEN_IPC_TRACE). */
void hv_conn_trace(hv_conn *c, const char *dir, const hv_endpoint *ep, uint16_t id, uint8_t kind,
		   uint32_t request_id, size_t size, unsigned nfds);
/* The last reference is gone (conn_unref). */
void hv_conn_free_last(hv_conn *c);
/* Release a message that still holds fds, maps or memory (msg_put). */
void hv_conn_msg_put_slow(hv_conn *c, hv_msg *m);

/* --- conn-io.c ---------------------------------------------------------- */
/* The fd-passing half of send_chunk(). */
ssize_t hv_conn_sendmsg(int fd, const uint8_t *data, size_t len, const int *fds, unsigned nfds);
/* Write the queue: what the socket takes now (timeout_ms 0), or block up to
 * timeout_ms (-1: forever). */
int hv_conn_write_queue(hv_conn *c, int timeout_ms);
/* Append a finalized message to the queue (fds duplicated). */
int hv_conn_enqueue(hv_conn *c, hv_enc *e);
/* Queue a finalized message with kind and request id, then flush now or
 * later (conn_send, which also releases the encoder). */
int hv_conn_send_frame(hv_conn *c, hv_enc *e, uint8_t kind, uint32_t request_id);
/* One recvmsg into the read buffer (waiting for data if `block`). */
ssize_t hv_conn_read(hv_conn *c, bool block);
/* While a sync call waits: every complete frame into a message. */
int hv_conn_cut_frames(hv_conn *c);
/* conn_cut_one() on an open connection. */
int hv_conn_cut_open(hv_conn *c, hv_msg **out, bool borrow);
/* Hand the read buffer to the borrowed message (it must outlive a read). */
int hv_conn_unpin(hv_conn *c);
/* Dispatch what is buffered once the loop turns. */
void hv_conn_schedule_drain(hv_conn *c);
/* The loop's callback for the connection's socket. */
void hv_conn_io(hv_loop *loop, int fd, uint32_t events, void *userdata);

/* --- conn-call.c -------------------------------------------------------- */
/* Dispatch queued and buffered messages in arrival order. */
void hv_conn_drain(hv_conn *c);

/* --- small helpers ------------------------------------------------------ */
/* References: see conn.c's head. */
static inline void conn_ref(hv_conn *c) { c->refs++; }
static inline void conn_unref(hv_conn *c)
{
	if (--c->refs == 0)
		hv_conn_free_last(c);
}

static inline const char *msg_name(const hv_endpoint *ep, uint16_t id)
{
	if (ep && ep->message_names && id >= 1 && id <= ep->message_count)
		return ep->message_names[id - 1];
	return id == HV_IPC_INTROSPECT_ID ? "(introspect)" : "?";
}

static inline const char *kind_name(uint8_t kind)
{
	static const char *const names[] = {"?", "request", "response", "error", "oneway", "event"};
	return kind < HV_ARRAY_SIZE(names) ? names[kind] : "?";
}

static inline int wait_fd(int fd, short events, int timeout_ms)
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

static inline int ms_left(uint64_t deadline_ns)
{
	if (deadline_ns == UINT64_MAX)
		return -1;
	uint64_t now = hv_now_ns();
	if (now >= deadline_ns)
		return 0;
	uint64_t ms = (deadline_ns - now + 999999) / 1000000;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static inline uint64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : hv_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

static inline int transport_reason(int r) { return r == -EPIPE || r == -ECONNRESET ? r : -ECONNRESET; }

/* --- inline: once per message ------------------------------------------- */
/* One send; fds ride with the first byte of their message. Returns bytes
 * written, -EAGAIN, or another negative errno. */
static inline ssize_t send_chunk(int fd, const uint8_t *data, size_t len, const int *fds, unsigned nfds)
{
	if (nfds)
		return hv_conn_sendmsg(fd, data, len, fds, nfds);
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

/* --- messages: recycled per connection ---------------------------------- */
/* A message with room for len payload bytes; with `view`, its payload will
 * be a view elsewhere (no room needed). */
static inline hv_msg *msg_get(hv_conn *c, size_t len, bool view)
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
	hv_conn_msg_put_slow(c, m);
}

/* --- sending and cutting: the out-of-line part in conn-io.c ------------- */
/* Queue a message with kind and request id, then flush now or later. */
static inline int conn_send(hv_conn *c, hv_enc *e, uint8_t kind, uint32_t request_id)
{
	int r = hv_conn_send_frame(c, e, kind, request_id);
	if (e->buf != e->inline_buf) /* the usual small message: nothing to free */
		hv_enc_release(e);
	return r < 0 ? r : 0;
}

/* Cut the next complete frame out of the read buffer into a message:
 * 1 = *out, 0 = no complete frame (and no unclaimed fds), < 0 = the peer
 * broke the protocol (the connection has ended). With `borrow`, the
 * payload stays where it was received (c->borrowed), else it is copied. */
static inline int conn_cut_one(hv_conn *c, hv_msg **out, bool borrow)
{
	if (!c->open)
		return c->end_reason;
	return hv_conn_cut_open(c, out, borrow);
}

/* The next message to dispatch: queued ones first (they are older), then
 * frames still in the read buffer — cut one at a time, so a read of many
 * frames needs one recycled message, not one allocation each. */
static inline int conn_next(hv_conn *c, hv_msg **out)
{
	hv_msg *m = c->q_head;
	if (!m) {
		if (c->open && !hv_rbuf_pending(&c->in) && !c->in.fd_count) {
			c->partial_since = 0; /* no frame incomplete (the deadline) */
			return 0; /* the usual end of a drain: nothing buffered */
		}
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
