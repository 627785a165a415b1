/* lib/ipc/conn.c — connections: creation (from an fd, connecting to a
 * path or portal, accepted by a server), ending and teardown, closing,
 * accessors and the endpoints a connection serves. The socket I/O is in
 * conn-io.c, calls and dispatch in conn-call.c; conn.h is what they share.
 *
 * Lifetime: a connection is reference counted. The client's handle (or the
 * server, for accepted ones) holds one reference; dispatch and deferred
 * callbacks hold one while they run, so a handler may close its own
 * connection safely. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "conn.h"

/* The last reference is gone (conn_unref): free everything. */
void hv_conn_free_last(hv_conn *c)
{
	if (c->borrowed && hv_conn_unpin(c) < 0) {
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
	for (struct conn_attachment *a = c->attached, *n; a; a = n) {
		n = a->next;
		if (a->free_fn)
			a->free_fn(a->data);
		free(a);
	}
	free(c);
}

void hv_conn_unref(hv_conn *c)
{
	if (c)
		conn_unref(c);
}

void hv_conn_set_error(hv_conn *c, int code, const char *message, bool remote)
{
	char *m = strdup(message ? message : "");
	free(c->last_error_buf);
	c->last_error_buf = m;
	c->last_error = (hv_ipc_error){.code = code, .message = m ? m : "", .remote = remote};
}

void hv_conn_trace(hv_conn *c, const char *dir, const hv_endpoint *ep, uint16_t id, uint8_t kind,
		  uint32_t request_id, size_t size, unsigned nfds)
{
	fprintf(stderr, "%s[%d]: ipc %s %s.%s %s id=%u size=%zu fds=%u\n", program_invocation_short_name,
		(int)getpid(), dir, ep ? ep->name : "?", msg_name(ep, id), kind_name(kind), request_id, size,
		nfds);
}

/* --- messages: the general release ------------------------------------ */
/* The general release: close, unmap, free what the message still holds,
 * then recycle it (or free it). */
void hv_conn_msg_put_slow(hv_conn *c, hv_msg *m)
{
	if (!m)
		return;
	if (c && c->borrowed == m)
		c->borrowed = NULL;
	if (c && c->acct && m->nfds) /* its fds are closed or the handler's now */
		hv_quota_charge_fds(c, -(int)m->nfds);
	hv_msg_clear(m);
	if (!c || c->n_free_msgs >= HV_CONN_FREE_MSGS || m->cap > HV_CONN_KEEP_PAYLOAD) {
		hv_msg_destroy(m);
		return;
	}
	m->next = c->free_msgs;
	c->free_msgs = m;
	c->n_free_msgs++;
}

/* --- ending ------------------------------------------------------------- */
void hv_conn_end(hv_conn *c, int reason)
{
	if (!c->open)
		return;
	c->open = false;
	c->end_reason = reason;
	if (c->acct)
		hv_quota_detach(c);
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
		hv_conn_set_error(c, reason, "connection closed", false);
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
		hv_conn_free_last(c);
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
		hv_conn_free_last(c);
		return r;
	}
	sl = sizeof(c->peer);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c->peer, &sl) < 0) {
		int r = -errno;
		hv_conn_free_last(c);
		return r;
	}
	if (loop) {
		/* Edge-triggered: the kernel does not re-poll the socket on every
		 * wait after an event (measured ~0.1 us per round trip); a read
		 * that may have left data behind schedules another (conn_read). */
		int r = hv_loop_add_fd(loop, fd, HV_IO_READ | HV_IO_EDGE, hv_conn_io, c, &c->watch);
		if (r < 0) {
			hv_conn_free_last(c);
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
		hv_conn_write_queue(c, accepted ? 0 : HV_CONN_CLOSE_FLUSH_MS);
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

int hv_conn_attach(hv_conn *c, const void *key, void *data, void (*free_fn)(void *data))
{
	struct conn_attachment **p = &c->attached;
	while (*p && (*p)->key != key)
		p = &(*p)->next;
	struct conn_attachment *a = *p;
	if (a) {
		if (a->free_fn && a->data != data)
			a->free_fn(a->data);
		if (!data) {
			*p = a->next;
			free(a);
			return 0;
		}
	} else if (data) {
		if (!(a = calloc(1, sizeof(*a))))
			return -ENOMEM;
		*p = a;
	} else {
		return 0;
	}
	*a = (struct conn_attachment){.next = a->next, .key = key, .data = data, .free_fn = free_fn};
	return 0;
}

void *hv_conn_attached(const hv_conn *c, const void *key)
{
	for (const struct conn_attachment *a = c->attached; a; a = a->next)
		if (a->key == key)
			return a->data;
	return NULL;
}
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

