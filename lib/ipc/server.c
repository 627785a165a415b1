/* lib/ipc/server.c — servers: listening sockets (bound here or handed over
 * by a service manager through LISTEN_FDS or SOCKET_TAKEOVER), accepting
 * clients under a connection limit, connect/disconnect hooks, and the
 * usual service start (`--socket PATH` or the environment), including
 * connections a manager passes later over HAVEN_HANDOFF_FD (per-user
 * instances). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "internal.h"

struct listener {
	int fd;
	hv_watch *watch;
	char *path; /* bound by us: unlinked on free */
	hv_server *server;
};

struct hv_server {
	hv_loop *loop;
	const hv_endpoint *ep;
	const void *handlers;
	struct listener **ls;
	unsigned nls;
	hv_conn **conns;
	unsigned nconns, cap;
	unsigned max;
	bool exit_when_idle;
	bool lazy_buffers; /* hv_server_set_lazy_buffers: for every connection */
	bool exit_when_idle_set; /* the service chose: hv_server_start keeps its choice */
	int handoff_fd;          /* HAVEN_HANDOFF_FD, -1 if none */
	hv_watch *handoff_watch;
	hv_server_connect_cb on_connect;
	void *on_connect_ud;
	hv_server_conn_cb on_disconnect;
	void *on_disconnect_ud;
	void *userdata;
	size_t state_size; /* hv_server_set_conn_state */
	hv_conn_state_init_fn state_init;
	hv_conn_state_fini_fn state_fini;
	struct hv_quota *quota; /* per-uid accounting (quota.c) */
};

int hv_server_new(hv_loop *loop, const hv_endpoint *ep, const void *handlers, hv_server **out)
{
	if (!loop || !ep || !ep->dispatch)
		return -EINVAL;
	hv_server *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->loop = loop;
	s->ep = ep;
	s->handlers = handlers;
	s->max = HV_IPC_MAX_CONNECTIONS;
	s->handoff_fd = -1;
	s->quota = hv_quota_new(s);
	if (!s->quota) {
		free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void hv_server_free(hv_server *s)
{
	if (!s)
		return;
	/* Ending a connection removes it from the array: end the last each time. */
	while (s->nconns)
		hv_conn_end(s->conns[s->nconns - 1], -ECONNRESET);
	for (unsigned i = 0; i < s->nls; i++) {
		struct listener *l = s->ls[i];
		hv_watch_free(l->watch);
		if (l->path)
			unlink(l->path);
		free(l->path);
		close(l->fd);
		free(l);
	}
	hv_watch_free(s->handoff_watch);
	if (s->handoff_fd >= 0)
		close(s->handoff_fd);
	hv_quota_free(s->quota);
	free(s->ls);
	free(s->conns);
	free(s);
}

/* The per-connection state of a client that is leaving (or was refused
 * after its state was set up). */
static void conn_state_end(hv_server *s, hv_conn *c)
{
	void *state = s->state_size ? hv_conn_userdata(c) : NULL;
	if (!state)
		return;
	if (s->state_fini)
		s->state_fini(c, state);
	hv_conn_set_userdata(c, NULL);
	free(state);
}

static int conn_state_begin(hv_server *s, hv_conn *c)
{
	if (!s->state_size)
		return 0;
	void *state = calloc(1, s->state_size);
	if (!state)
		return -ENOMEM;
	int r = s->state_init ? s->state_init(c, state) : 0;
	if (r < 0) {
		free(state);
		return r;
	}
	hv_conn_set_userdata(c, state);
	return 0;
}

/* Refuse a client before it was one: no disconnect hook, and fini only for
 * a state that init set up. */
static int refuse(hv_server *s, hv_conn *c, int reason)
{
	hv_server_conn_cb saved = s->on_disconnect;
	s->on_disconnect = NULL;
	hv_conn_end(c, reason);
	s->on_disconnect = saved;
	return reason;
}

void hv_server_conn_ended(hv_server *s, hv_conn *c)
{
	for (unsigned i = 0; i < s->nconns; i++)
		if (s->conns[i] == c) {
			s->conns[i] = s->conns[--s->nconns];
			break;
		}
	if (s->on_disconnect)
		s->on_disconnect(s, c, s->on_disconnect_ud);
	conn_state_end(s, c);
	hv_conn_unref(c);
	if (s->nconns == 0 && s->exit_when_idle)
		hv_loop_quit(s->loop, 0);
}

/* Take an accepted socket: connection limit, then the connect hook. */
static int server_add_conn(hv_server *s, int fd)
{
	if (s->nconns >= s->max) {
		struct ucred cr = {0};
		socklen_t sl = sizeof(cr);
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &sl);
		hv_log_warn("ipc: %s: refusing peer pid=%d uid=%d: connection limit (%u) reached",
			    s->ep->name, (int)cr.pid, (int)cr.uid, s->max);
		close(fd);
		return -EMFILE;
	}
	if (s->nconns == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 16;
		hv_conn **t = reallocarray(s->conns, cap, sizeof(*t));
		if (!t) {
			close(fd);
			return -ENOMEM;
		}
		s->conns = t;
		s->cap = cap;
	}
	hv_conn *c;
	int r = hv_conn_new_accepted(s, s->loop, fd, s->ep, s->handlers, &c);
	if (r < 0)
		return hv_log_errno(r, "ipc: %s: failed to set up a connection", s->ep->name);
	s->conns[s->nconns++] = c;
	hv_conn_set_lazy_buffers(c, s->lazy_buffers);
	if ((r = hv_quota_attach(s->quota, c)) < 0)
		return refuse(s, c, r);
	if ((r = conn_state_begin(s, c)) < 0)
		return refuse(s, c, r);
	if (s->on_connect && (r = s->on_connect(s, c, s->on_connect_ud)) < 0)
		return refuse(s, c, r);
	return 0;
}

static void listener_io(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	struct listener *l = userdata;
	/* A few per wake-up: fair to the connections already served. */
	for (int i = 0; i < 16; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (cfd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				hv_log_warn("ipc: %s: accept failed: %m", l->server->ep->name);
			return;
		}
		server_add_conn(l->server, cfd);
	}
}

static int add_listener(hv_server *s, int fd, const char *path)
{
	struct listener **t = reallocarray(s->ls, s->nls + 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	s->ls = t;
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->fd = fd;
	l->server = s;
	if (path && !(l->path = strdup(path))) {
		free(l);
		return -ENOMEM;
	}
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	int r = hv_loop_add_fd(s->loop, fd, HV_IO_READ, listener_io, l, &l->watch);
	if (r < 0) {
		free(l->path);
		free(l);
		return r;
	}
	s->ls[s->nls++] = l;
	return 0;
}

int hv_server_listen(hv_server *s, const char *path)
{
	int fd = hv_unix_listen(path, 0600, (uid_t)-1, (gid_t)-1, SOCK_NONBLOCK);
	if (fd == -EADDRINUSE)
		return hv_log_errno(fd, "ipc: a server is already listening on %s", path);
	if (fd == -EEXIST)
		return hv_log_errno(-EADDRINUSE, "ipc: %s exists and is not a socket", path);
	if (fd < 0)
		return hv_log_errno(fd, "ipc: failed to listen on %s", path);
	int r = add_listener(s, fd, path);
	if (r < 0) {
		unlink(path);
		close(fd);
	}
	return r;
}

int hv_server_adopt_fd(hv_server *s, int fd)
{
	int listening = 0;
	socklen_t sl = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &sl) < 0)
		return -errno; /* ENOTSOCK: not a socket at all */
	int domain = 0;
	sl = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &sl) < 0)
		return -errno;
	if (domain != AF_UNIX)
		return -EAFNOSUPPORT;
	int type = 0;
	sl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0)
		return -errno;
	if (type != SOCK_STREAM) /* connections are byte streams (see conn.c) */
		return -EPROTOTYPE;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (listening)
		return add_listener(s, fd, NULL);
	return server_add_conn(s, fd);
}

/* --- handed-over sockets ------------------------------------------------
 * The environment is read once per process and then cleared (as
 * sd_listen_fds(1) does, so children do not inherit it); several servers
 * in one process each pick their own sockets from what was read. */
struct handed {
	int fd;
	char *name; /* LISTEN_FDNAMES entry or SOCKET_TAKEOVER path */
	bool taken;
};
static struct handed *handed;
static unsigned n_handed;
static bool handed_read;

static void handed_add(int fd, const char *name, size_t len)
{
	/* A manager may name one fd in both LISTEN_FDS and SOCKET_TAKEOVER. */
	for (unsigned i = 0; i < n_handed; i++)
		if (handed[i].fd == fd)
			return;
	struct handed *t = reallocarray(handed, n_handed + 1, sizeof(*t));
	if (!t)
		return;
	handed = t;
	handed[n_handed++] = (struct handed){.fd = fd, .name = strndup(name, len)};
}

static void handed_read_env(void)
{
	if (handed_read)
		return;
	handed_read = true;
	const char *pid = getenv("LISTEN_PID"), *nfds = getenv("LISTEN_FDS");
	if (pid && nfds) {
		int64_t p, n;
		if (hv_parse_i64(pid, 1, INT32_MAX, &p) < 0 || p != getpid()) {
			hv_log_debug("ipc: LISTEN_FDS is for another process");
		} else if (hv_parse_i64(nfds, 0, 4096, &n) < 0) {
			hv_log_warn("ipc: ignoring invalid LISTEN_FDS=%s", nfds);
		} else {
			const char *names = getenv("LISTEN_FDNAMES");
			for (int64_t i = 0; i < n; i++) {
				const char *nm = "";
				size_t len = 0;
				if (names) {
					const char *p0 = names;
					for (int64_t k = 0; k < i && p0; k++) {
						p0 = strchr(p0, ':');
						if (p0)
							p0++;
					}
					if (p0) {
						nm = p0;
						const char *colon = strchr(p0, ':');
						len = colon ? (size_t)(colon - p0) : strlen(p0);
					}
				}
				handed_add(3 + (int)i, nm, len);
			}
		}
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	/* SerenityOS: "path:fd path:fd ..." */
	const char *tk = getenv("SOCKET_TAKEOVER");
	if (tk) {
		const char *p0 = tk;
		while (*p0) {
			while (*p0 == ' ')
				p0++;
			if (!*p0)
				break;
			const char *end = strchr(p0, ' ');
			size_t len = end ? (size_t)(end - p0) : strlen(p0);
			const char *colon = memrchr(p0, ':', len);
			int64_t fd;
			char num[16];
			size_t nl = colon ? len - (size_t)(colon - p0) - 1 : 0;
			if (colon && nl > 0 && nl < sizeof(num)) {
				memcpy(num, colon + 1, nl);
				num[nl] = 0;
				if (hv_parse_i64(num, 0, INT32_MAX, &fd) == 0)
					handed_add((int)fd, p0, (size_t)(colon - p0));
				else
					hv_log_warn("ipc: ignoring invalid SOCKET_TAKEOVER entry");
			} else {
				hv_log_warn("ipc: ignoring invalid SOCKET_TAKEOVER entry");
			}
			p0 += len;
		}
		unsetenv("SOCKET_TAKEOVER");
	}
}

int hv_server_adopt_from_env(hv_server *s, const char *name)
{
	handed_read_env();
	int count = 0;
	for (unsigned i = 0; i < n_handed; i++) {
		struct handed *h = &handed[i];
		if (h->taken || (name && (!h->name || strcmp(h->name, name) != 0)))
			continue;
		int r = hv_server_adopt_fd(s, h->fd);
		if (r < 0)
			return hv_log_errno(r, "ipc: failed to adopt handed-over fd %d (%s)", h->fd,
					    h->name ? h->name : "");
		h->taken = true;
		count++;
	}
	return count;
}

/* --- per-user hand-off -------------------------------------------------
 * SystemServer's per-user instances get their first connection in
 * LISTEN_FDS and every later one over HAVEN_HANDOFF_FD: a SOCK_SEQPACKET
 * socket carrying one byte per message with the connection as SCM_RIGHTS
 * (docs/systemserver.md). */
static void handoff_stop(hv_server *s)
{
	hv_watch_free(s->handoff_watch);
	s->handoff_watch = NULL;
	if (s->handoff_fd >= 0)
		close(s->handoff_fd);
	s->handoff_fd = -1;
}

static void handoff_io(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	hv_server *s = userdata;
	/* A few per wake-up, like accept: fair to the connections served. */
	for (int i = 0; i < 16; i++) {
		char byte;
		struct iovec iov = {&byte, 1};
		union {
			char buf[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
				    .msg_controllen = sizeof(u.buf)};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			/* The manager is gone (or broke the socket): clients already
			 * handed over keep being served; no more will come. */
			if (n < 0)
				hv_log_warn("ipc: %s: hand-off socket failed: %m", s->ep->name);
			handoff_stop(s);
			return;
		}
		int got[4], ngot = 0;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (size_t j = 0; j < k && ngot < 4; j++)
				memcpy(&got[ngot++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
		}
		if (ngot != 1 || (mh.msg_flags & MSG_CTRUNC)) {
			/* Not the protocol: drop what came, keep listening. */
			hv_log_warn("ipc: %s: hand-off message with %d fds ignored", s->ep->name, ngot);
			for (int j = 0; j < ngot; j++)
				close(got[j]);
			continue;
		}
		/* Only connected AF_UNIX sockets: server_add_conn owns the fd. */
		int listening = 1, domain = 0;
		socklen_t l1 = sizeof(listening), l2 = sizeof(domain);
		if (getsockopt(got[0], SOL_SOCKET, SO_ACCEPTCONN, &listening, &l1) < 0 ||
		    getsockopt(got[0], SOL_SOCKET, SO_DOMAIN, &domain, &l2) < 0 || listening ||
		    domain != AF_UNIX) {
			hv_log_warn("ipc: %s: handed-over fd is not a connected AF_UNIX socket", s->ep->name);
			close(got[0]);
			continue;
		}
		fcntl(got[0], F_SETFD, FD_CLOEXEC);
		server_add_conn(s, got[0]);
	}
}

static int handoff_watch(hv_server *s)
{
	const char *v = getenv("HAVEN_HANDOFF_FD");
	if (!v)
		return 0;
	int64_t fd;
	int r = hv_parse_i64(v, 0, INT32_MAX, &fd);
	unsetenv("HAVEN_HANDOFF_FD"); /* once per process, as LISTEN_FDS */
	if (r < 0)
		return hv_log_errno(-EINVAL, "ipc: %s: invalid HAVEN_HANDOFF_FD=%s", s->ep->name, v);
	int type = 0;
	socklen_t sl = sizeof(type);
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &sl) < 0)
		return hv_log_errno(-errno, "ipc: %s: HAVEN_HANDOFF_FD=%d", s->ep->name, (int)fd);
	if (type != SOCK_SEQPACKET)
		return hv_log_errno(-EPROTOTYPE, "ipc: %s: HAVEN_HANDOFF_FD=%d is not a SOCK_SEQPACKET socket",
				    s->ep->name, (int)fd);
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	r = hv_loop_add_fd(s->loop, (int)fd, HV_IO_READ, handoff_io, s, &s->handoff_watch);
	if (r < 0)
		return hv_log_errno(r, "ipc: %s: failed to watch the hand-off socket", s->ep->name);
	s->handoff_fd = (int)fd;
	return 1;
}

int hv_server_start(hv_server *s, const char *socket_path)
{
	if (socket_path)
		return hv_server_listen(s, socket_path);
	int r = hv_server_adopt_from_env(s, NULL);
	if (r < 0)
		return r;
	int h = handoff_watch(s);
	if (h < 0)
		return h;
	if (r == 0 && h == 0) {
		hv_log_error("%s: no socket to serve: start it under SystemServer (LISTEN_FDS) or "
			     "with --socket PATH",
			     s->ep->name);
		return -ENOENT;
	}
	/* Only accepted connections and nothing to accept more from: a
	 * per-connection instance, which should leave with its client. */
	if (s->nls == 0 && h == 0 && !s->exit_when_idle_set) {
		s->exit_when_idle = true;
		if (s->nconns == 0) /* its connection already ended */
			hv_loop_quit(s->loop, 0);
	}
	return 0;
}

void hv_server_on_connect(hv_server *s, hv_server_connect_cb cb, void *userdata)
{
	s->on_connect = cb;
	s->on_connect_ud = userdata;
}

void hv_server_on_disconnect(hv_server *s, hv_server_conn_cb cb, void *userdata)
{
	s->on_disconnect = cb;
	s->on_disconnect_ud = userdata;
}

void hv_server_set_max_connections(hv_server *s, unsigned max) { s->max = max; }
struct hv_quota *hv_server_quota(hv_server *s) { return s->quota; }
void hv_server_set_lazy_buffers(hv_server *s, bool on)
{
	s->lazy_buffers = on;
	for (unsigned i = 0; i < s->nconns; i++)
		hv_conn_set_lazy_buffers(s->conns[i], on);
}
void hv_server_set_exit_when_idle(hv_server *s, bool on)
{
	s->exit_when_idle = on;
	s->exit_when_idle_set = true;
}
unsigned hv_server_connection_count(const hv_server *s) { return s->nconns; }
bool hv_server_listens(const hv_server *s) { return s->nls > 0; }
bool hv_server_has_handoff(const hv_server *s) { return s->handoff_fd >= 0; }
hv_loop *hv_server_loop(const hv_server *s) { return s->loop; }
void hv_server_set_userdata(hv_server *s, void *userdata) { s->userdata = userdata; }
void *hv_server_userdata(const hv_server *s) { return s->userdata; }

void hv_server_set_conn_state(hv_server *s, size_t size, hv_conn_state_init_fn init,
			      hv_conn_state_fini_fn fini)
{
	s->state_size = size;
	s->state_init = init;
	s->state_fini = fini;
}

void *hv_call_state(const hv_call *call) { return hv_conn_userdata(hv_call_conn(call)); }

int hv_server_foreach(hv_server *s, int (*cb)(hv_conn *c, void *userdata), void *userdata)
{
	/* On a copy: cb may end connections (which reorders the array). */
	unsigned n = s->nconns;
	if (n == 0)
		return 0;
	hv_conn **copy = malloc(n * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, s->conns, n * sizeof(*copy));
	int r = 0;
	for (unsigned i = 0; i < n && r == 0; i++) {
		bool still = false;
		for (unsigned j = 0; j < s->nconns; j++)
			still |= s->conns[j] == copy[i];
		if (still && hv_conn_is_open(copy[i]))
			r = cb(copy[i], userdata);
	}
	free(copy);
	return r;
}
