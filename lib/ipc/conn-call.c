/* lib/ipc/conn-call.c — calls on a connection: the pending-call table
 * (open addressing on the request id), sync calls (the caller waits on the
 * socket for its own reply, other messages queued for later), async calls
 * and their callbacks, dispatch of received messages to the endpoints the
 * connection serves, and the call a handler serves (held, answered,
 * failed). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "conn.h"

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


/* --- calls: recycled per connection ------------------------------------ */
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

/* --- dispatch ---------------------------------------------------------- */
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
		hv_conn_trace(c, "recv", pe.ep, pe.msg_id, m->kind, m->request_id, m->len, m->nfds);
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
		hv_conn_set_error(c, code, message, true);
		msg_put(c, m);
		pe.cb(c, code, NULL, pe.userdata);
		return;
	}
	pe.cb(c, 0, m, pe.userdata);
	msg_put(c, m);
}

/* The built-in introspection request: the runtime answers it for the
 * served endpoints (all of them for magic 0) with their descriptions. */
static void answer_introspect(hv_conn *c, hv_msg *m, const hv_endpoint *ep)
{
	hv_call *k = call_get(c);
	if (!k) {
		msg_put(c, m);
		hv_conn_end(c, -ENOMEM);
		return;
	}
	k->msg = m;
	k->ep = ep;
	if (m->len != 0 || m->nfds != 0) {
		hv_conn_misbehave(c, "malformed introspection request");
	} else if (!ep && m->magic != 0) {
		hv_call_respond_error(k, -ENOENT, "that endpoint is not served here");
	} else {
		hv_enc e;
		hv_call_reply_init(k, &e);
		size_t n = 0;
		for (unsigned i = 0; i < c->nserved; i++)
			n += (!ep || c->served[i].ep == ep) && c->served[i].ep->description;
		hv_enc_count(&e, n);
		for (unsigned i = 0; i < c->nserved; i++)
			if ((!ep || c->served[i].ep == ep) && c->served[i].ep->description)
				hv_enc_string(&e, c->served[i].ep->description);
		hv_call_respond(k, &e);
	}
	call_destroy(k); /* and the request with it */
}

static void process_incoming(hv_conn *c, hv_msg *m)
{
	const void *handlers = NULL;
	const hv_endpoint *ep = served_ep(c, m->magic, &handlers);
	if (c->trace)
		hv_conn_trace(c, "recv", ep, m->id, m->kind, m->request_id, m->len, m->nfds);
	if (m->id == HV_IPC_INTROSPECT_ID && m->kind == HV_MSG_REQUEST && c->nserved) {
		answer_introspect(c, m, ep);
		return;
	}
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

/* The next frame in the read buffer, if it is one a burst dispatches: a
 * complete one-way message (or, to a client, event) without fds, for an
 * endpoint served here (*ep, kept while the magic stays the same) and a
 * message id it has. Anything else is left to the general path, which
 * handles it (and reports what is wrong with it) as it always did. */
static bool burst_frame(hv_conn *c, hv_frame_hdr *h, const hv_endpoint **ep, const void **handlers)
{
	const hv_rbuf *in = &c->in;
	size_t have = in->end - in->start;
	if (have < HV_IPC_HEADER_SIZE)
		return false;
	/* Into locals: a message's fields written now and read back as one
	 * wider load would stall on store forwarding. */
	hv_frame_hdr_parse(in->buf + in->start, h);
	if ((h->kind != HV_MSG_ONEWAY && (h->kind != HV_MSG_EVENT || c->accepted)) || h->nfds ||
	    h->request_id || h->id == 0 || h->len > have - HV_IPC_HEADER_SIZE ||
	    h->len > HV_IPC_MAX_MESSAGE_SIZE)
		return false;
	if (!*ep || (*ep)->magic != h->magic)
		*ep = served_ep(c, h->magic, handlers);
	return *ep && h->id <= (*ep)->message_count;
}

/* A burst of one-way messages in the read buffer, dispatched straight from
 * it: the endpoint looked up once per run of one magic, one message object
 * and one call for all of them, no queue, no per-message allocation. The
 * first frame that is not such a message ends the burst (see burst_frame);
 * so does anything a handler does that the general path must see (a sync
 * call, a read that unpins the buffer, the connection ending). A malformed
 * message ends the peer after the ones before it were handled, as
 * process_incoming does. Returns how many were dispatched. */
static unsigned drain_burst(hv_conn *c)
{
	if (c->q_head || c->borrowed || c->in.fd_count || c->trace || c->sync_id)
		return 0;
	const hv_endpoint *ep = NULL;
	const void *handlers = NULL;
	hv_frame_hdr h;
	if (!burst_frame(c, &h, &ep, &handlers))
		return 0;
	hv_msg *m = msg_get(c, 0, true);
	if (!m)
		return 0;
	hv_call ow = {.conn = c, .msg = m, .ep = ep, .arena = c->ow_arena, .in_dispatch = true};
	c->ow_arena = (hv_arena)HV_ARENA_INIT;
	unsigned n = 0;
	do {
		m->magic = h.magic;
		m->id = h.id;
		m->kind = h.kind;
		m->request_id = 0;
		m->nfds = 0;
		m->len = h.len;
		m->lazy_buffers = c->lazy_buffers;
		m->payload = c->in.buf + c->in.start + HV_IPC_HEADER_SIZE;
		c->in.start += HV_IPC_HEADER_SIZE + h.len;
		c->borrowed = m;
		ow.ep = ep;
		ow.fail_code = 0;
		ow.fail_msg = NULL;
		int r = ep->dispatch(&ow, m, handlers);
		n++;
		if (r == -EBADMSG || r == -EILSEQ || r == -EMSGSIZE)
			hv_conn_misbehave(c, "malformed %s.%s (%s)", ep->name, msg_name(ep, m->id),
					  strerror(-r));
		if (ow.arena.used_total)
			hv_arena_reset(&ow.arena);
		if (c->borrowed != m || m->keep || m->maps || m->arena.used_total) {
			/* A read unpinned it (its payload now shares the buffer), or
			 * it holds what only a release frees: not reused. */
			msg_put(c, m);
			m = NULL;
			break;
		}
		c->borrowed = NULL;
		m->fds_consumed = 0;
		m->given = false;
		m->nchecked = 0;
	} while (c->open && !c->sync_id && !c->q_head && burst_frame(c, &h, &ep, &handlers));
	msg_put(c, m);
	if (!c->ow_arena.head)
		c->ow_arena = ow.arena;
	else
		hv_arena_release(&ow.arena);
	return n;
}

/* Dispatch queued messages in arrival order. Not re-entered: a nested
 * dispatch (a handler's sync call) only queues. Bursts of one-way
 * messages take drain_burst, the rest one message at a time. */
void hv_conn_drain(hv_conn *c)
{
	if (c->draining)
		return;
	c->draining = true;
	conn_ref(c);
	hv_msg *m;
	for (;;) {
		if (!c->open || c->sync_id)
			break;
		if (drain_burst(c))
			continue;
		if (!c->open || c->sync_id || conn_next(c, &m) <= 0)
			break;
		process(c, m);
	}
	if (c->charged_bytes && c->acct) /* messages queued during a sync call are gone */
		hv_quota_charge(c);
	c->draining = false;
	conn_unref(c);
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
		hv_conn_set_error(c, r, "message could not be encoded", false);
		return r;
	}
	if (!c->open) {
		hv_enc_release(e);
		hv_conn_set_error(c, c->end_reason, "connection closed", false);
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
		hv_conn_trace(c, "send", ep, msg_id, HV_MSG_REQUEST, id, e->len - HV_IPC_HEADER_SIZE, e->nfds);
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
		r = hv_conn_enqueue(c, e);
		if (r == 0)
			r = hv_conn_write_queue(c, ms_left(deadline));
	}
	hv_enc_release(e);

	/* Wait for our reply; everything else is queued for the loop. */
	while (r >= 0) {
		/* Usually nothing is buffered before the first read. */
		if ((hv_rbuf_pending(&c->in) || c->in.fd_count) && hv_conn_cut_frames(c) < 0) {
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
		ssize_t n = hv_conn_read(c, block);
		if (n < 0 && n != -EAGAIN)
			r = c->open ? (int)n : c->end_reason;
	}
	c->sync_id = 0;
	if (!c->open && r >= 0 && !c->sync_reply)
		r = c->end_reason;

	if (c->sync_reply) {
		hv_msg *m = c->sync_reply;
		if (c->trace)
			hv_conn_trace(c, "recv", ep, msg_id, m->kind, id, m->len, m->nfds);
		if (m->kind == HV_MSG_ERROR) {
			int code;
			const char *message;
			if (decode_error(m, &code, &message) < 0) {
				hv_conn_misbehave(c, "malformed error reply");
				r = -EBADMSG;
			} else {
				hv_conn_set_error(c, code, message, true);
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
		hv_conn_set_error(c, r, r == -ETIMEDOUT ? "timed out" : "connection closed", false);
	}
	hv_conn_schedule_drain(c);
	conn_unref(c);
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
	int r = hv_conn_write_queue(c, -1);
	if (r < 0)
		return r;
	conn_ref(c);
	int count = 0;
	hv_msg *m;
	int k = conn_next(c, &m);
	if (k == 0) {
		int w = wait_fd(c->fd, POLLIN, timeout_ms);
		if (w > 0) {
			ssize_t n = hv_conn_read(c, false);
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
		hv_conn_write_queue(c, -1);
	if (r >= 0 && !c->open && count == 0)
		r = c->end_reason;
	conn_unref(c);
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
	if (c->borrowed && c->borrowed == call->msg && hv_conn_unpin(c) < 0) {
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

int hv_conn_introspect(hv_conn *c, const hv_endpoint *ep, int timeout_ms, hv_strv *out)
{
	hv_enc e;
	hv_enc_init(&e, ep, HV_IPC_INTROSPECT_ID, HV_MSG_REQUEST);
	hv_msg *reply = NULL;
	int r = hv_conn_call(c, &e, timeout_ms, &reply);
	if (r < 0)
		return r;
	hv_dec d;
	hv_dec_init(&d, reply);
	size_t n = 0;
	if (!hv_dec_count(&d, 5, &n))
		r = -EBADMSG;
	for (size_t i = 0; r == 0 && i < n; i++) {
		const char *s;
		if (!hv_dec_string(&d, &s))
			r = -EBADMSG;
		else
			r = hv_strv_push(out, s);
	}
	if (r == 0 && hv_dec_finish(&d) < 0)
		r = -EBADMSG;
	return r; /* the reply stays the connection's */
}
