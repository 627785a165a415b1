/* relay.c — one telnet connection (server.h): its pty, the session on
 * the pty's other side, and the relay between the socket and the pty.
 *
 * The relay is two bounded buffers. Socket → pty: libtelnet's decoded
 * data (never more bytes than were read), so the socket is read only
 * while the pty-bound buffer has room. Pty → socket: output escaped
 * (at most twice its size), so the pty is read only while the
 * socket-bound buffer has room for that, less a reserve kept for
 * negotiation answers (also never more than was read). A full buffer
 * stops reading the side that fills it; nothing grows without bound. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/sandbox.h>

#include "session.h"
#include "telnet.h"

struct ts_buf {
	size_t off, len;
	uint8_t data[TS_BUF_SIZE];
};

static size_t buf_room(struct ts_buf *b)
{
	if (b->off && b->off + b->len > TS_BUF_SIZE / 2) {
		memmove(b->data, b->data + b->off, b->len);
		b->off = 0;
	}
	return TS_BUF_SIZE - b->off - b->len;
}

static bool buf_put(struct ts_buf *b, const uint8_t *p, size_t n)
{
	if (buf_room(b) < n)
		return false;
	memcpy(b->data + b->off + b->len, p, n);
	b->len += n;
	return true;
}

/* Write what the buffer holds; 0, or a negative errno (-EAGAIN: later). */
static int buf_flush(struct ts_buf *b, int fd, bool sock)
{
	while (b->len) {
		ssize_t n = sock ? send(fd, b->data + b->off, b->len, MSG_NOSIGNAL)
				 : write(fd, b->data + b->off, b->len);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		b->off += (size_t)n;
		b->len -= (size_t)n;
	}
	b->off = 0;
	return 0;
}

struct ts_conn {
	hv_loop *loop;
	int sock, master;
	ts_proto *proto;
	ts_session *session;
	hv_watch *w_sock, *w_pty;
	hv_timer *settle;
	bool started, net_eof, pty_gone, closing;
	int exit_code;
	struct ts_buf to_pty, to_net;
};

static void conn_update(struct ts_conn *c);

static void conn_close(struct ts_conn *c, int code)
{
	if (c->closing)
		return;
	c->closing = true;
	c->exit_code = code;
	conn_update(c);
}

static void proto_to_pty(void *ud, const uint8_t *buf, size_t len)
{
	struct ts_conn *c = ud;
	if (!buf_put(&c->to_pty, buf, len)) /* cannot happen: reads are sized to fit */
		conn_close(c, 1);
}

static void proto_to_net(void *ud, const uint8_t *buf, size_t len)
{
	struct ts_conn *c = ud;
	if (!buf_put(&c->to_net, buf, len))
		conn_close(c, 1);
}

static void proto_winsize(void *ud, unsigned cols, unsigned rows)
{
	struct ts_conn *c = ud;
	/* The kernel sends SIGWINCH to the foreground group when it changes. */
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	if (ioctl(c->master, TIOCSWINSZ, &ws) < 0)
		hv_log_warn("TIOCSWINSZ: %m");
}

static void proto_interrupt(void *ud)
{
	struct ts_conn *c = ud;
	ts_session_interrupt(c->session, c->master);
}

static const struct ts_proto_ops proto_ops = {
	.to_pty = proto_to_pty,
	.to_net = proto_to_net,
	.winsize = proto_winsize,
	.interrupt = proto_interrupt,
};

static void start_session(struct ts_conn *c)
{
	if (c->started || c->closing)
		return;
	c->started = true;
	hv_timer_free(c->settle);
	c->settle = NULL;
	if (ts_session_start(c->session, c->proto) < 0)
		conn_close(c, 1);
}

static void on_settle(hv_loop *loop, hv_timer *t, void *ud)
{
	(void)loop, (void)t;
	hv_log_debug("negotiation not settled after %d ms: starting anyway", TS_SETTLE_MS);
	start_session(ud);
}

static void read_sock(struct ts_conn *c)
{
	size_t room = buf_room(&c->to_pty), net_room = buf_room(&c->to_net);
	size_t n = room < net_room ? room : net_room;
	if (n == 0) /* readiness from before the buffers filled: later */
		return;
	uint8_t in[TS_BUF_SIZE];
	ssize_t got = recv(c->sock, in, n, 0);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		if (got < 0)
			hv_log_debug("recv: %m");
		c->net_eof = true;
		conn_close(c, 0);
		return;
	}
	int r = ts_proto_recv(c->proto, in, (size_t)got);
	if (r < 0) {
		hv_log_warn("%s: closing the connection",
			    r == -EMSGSIZE ? "endless subnegotiation" : "telnet protocol errors");
		conn_close(c, 0);
		return;
	}
	if (!c->started && ts_proto_settled(c->proto))
		start_session(c);
}

static void read_pty(struct ts_conn *c)
{
	size_t room = buf_room(&c->to_net);
	if (room < TS_NET_RESERVE + 2) /* a read of 0 would look like the end */
		return;
	uint8_t in[TS_BUF_SIZE / 2], out[TS_BUF_SIZE];
	size_t n = (room - TS_NET_RESERVE) / 2;
	ssize_t got = read(c->master, in, n < sizeof in ? n : sizeof in);
	if (got < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) { /* EIO: every process has closed the terminal */
		c->pty_gone = true;
		conn_close(c, 0);
		return;
	}
	size_t len = ts_proto_encode(c->proto, in, (size_t)got, out);
	if (!buf_put(&c->to_net, out, len)) /* cannot happen: the read was sized to fit */
		conn_close(c, 1);
}

static void flush_net(struct ts_conn *c)
{
	int r = buf_flush(&c->to_net, c->sock, true);
	if (r < 0 && r != -EAGAIN) {
		c->net_eof = true;
		c->to_net.len = 0;
		conn_close(c, 0);
	}
}

static void flush_pty(struct ts_conn *c)
{
	int r = buf_flush(&c->to_pty, c->master, false);
	if (r < 0 && r != -EAGAIN)
		c->to_pty.len = 0; /* EIO: nobody is reading the terminal */
}

/* Each read is written through at once when the other side takes it,
 * so a steady stream needs no write watch (two epoll_ctl per chunk). */
static void on_sock(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)fd;
	struct ts_conn *c = ud;
	if (events & HV_IO_WRITE)
		flush_net(c);
	if ((events & (HV_IO_READ | HV_IO_ERROR)) && !c->closing) {
		read_sock(c);
		if (c->to_pty.len && !c->pty_gone)
			flush_pty(c);
		if (c->to_net.len && !c->closing)
			flush_net(c);
	}
	conn_update(c);
}

static void on_pty(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)fd;
	struct ts_conn *c = ud;
	if (events & HV_IO_WRITE)
		flush_pty(c);
	if (events & (HV_IO_READ | HV_IO_ERROR)) {
		read_pty(c);
		if (c->to_net.len && !c->net_eof)
			flush_net(c);
	}
	conn_update(c);
}

/* The session ended (its process exited): send what it wrote last. */
static void on_session_end(void *ud)
{
	struct ts_conn *c = ud;
	while (!c->pty_gone && buf_room(&c->to_net) >= TS_NET_RESERVE + 2) {
		size_t before = c->to_net.len;
		read_pty(c);
		if (c->to_net.len == before)
			break;
	}
	conn_close(c, 0);
}

/* Interest follows the buffers (the backpressure); a closing connection
 * only flushes what it owes the socket, then the loop ends. */
static void conn_update(struct ts_conn *c)
{
	if (c->closing) {
		hv_watch_set_events(c->w_pty, 0);
		if (c->net_eof || !c->to_net.len) {
			hv_watch_set_events(c->w_sock, 0);
			hv_loop_quit(c->loop, c->exit_code);
		} else {
			hv_watch_set_events(c->w_sock, HV_IO_WRITE);
		}
		return;
	}
	uint32_t s = 0, p = 0;
	if (buf_room(&c->to_pty) && buf_room(&c->to_net))
		s |= HV_IO_READ;
	if (c->to_net.len)
		s |= HV_IO_WRITE;
	if (buf_room(&c->to_net) >= TS_NET_RESERVE + 2 && !c->pty_gone)
		p |= HV_IO_READ;
	if (c->to_pty.len && !c->pty_gone)
		p |= HV_IO_WRITE;
	hv_watch_set_events(c->w_sock, s);
	hv_watch_set_events(c->w_pty, p);
}

/* A pty pair: the master non-blocking for the relay, the terminal side
 * (opened through the master, no path needed) for the session. */
static int open_pty(int *master, int *slave)
{
	_hv_close_ int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (m < 0 || unlockpt(m) < 0)
		return hv_log_errno(-errno, "Cannot open a pty");
	int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (s < 0)
		return hv_log_errno(-errno, "Cannot open the pty's terminal");
	struct winsize ws = {.ws_row = 24, .ws_col = 80};
	ioctl(m, TIOCSWINSZ, &ws);
	*slave = s;
	*master = HV_TAKE_FD(m);
	return 0;
}

static void conn_free(struct ts_conn *c)
{
	hv_watch_free(c->w_sock);
	hv_watch_free(c->w_pty);
	hv_timer_free(c->settle);
	ts_session_free(c->session);
	ts_proto_free(c->proto);
	if (c->master >= 0)
		close(c->master);
	hv_loop_free(c->loop);
	free(c);
}
HV_DEFINE_CLEANUP(struct ts_conn *, conn_free)

static int conn_setup(struct ts_conn *c, int sock)
{
	_hv_close_ int slave = -1;
	int r = open_pty(&c->master, &slave);
	if (r < 0)
		return r;
	/* The session is prepared before the sandbox narrows (a shell
	 * forked, or LoginServer connected); it starts once the client has
	 * told its terminal. */
	if ((r = hv_loop_new(&c->loop)) < 0 || (r = hv_loop_quit_on_signals(c->loop)) < 0)
		return hv_log_errno(r, "Cannot make the loop");
	r = ts_session_new(&ts_opts, c->loop, c->master, slave, on_session_end, c, &c->session);
	if (r < 0)
		return r;
	r = hv_pledge(ts_session_promises(c->session), NULL);
	if (r < 0)
		return r;
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	c->sock = sock;
	if ((r = ts_proto_new(&proto_ops, c, &c->proto)) < 0)
		return hv_log_errno(r, "telnet state");
	if ((r = hv_loop_add_fd(c->loop, sock, 0, on_sock, c, &c->w_sock)) < 0 ||
	    (r = hv_loop_add_fd(c->loop, c->master, 0, on_pty, c, &c->w_pty)) < 0 ||
	    (r = hv_loop_add_timer(c->loop, TS_SETTLE_MS * 1000000ull, 0, on_settle, c,
				   &c->settle)) < 0)
		return hv_log_errno(r, "Cannot watch the connection");
	ts_proto_start(c->proto);
	conn_update(c);
	return 0;
}

int ts_serve_connection(int sock)
{
	_hv_cleanup_(conn_freep) struct ts_conn *c = calloc(1, sizeof *c);
	if (!c)
		return 1;
	c->master = -1;
	signal(SIGPIPE, SIG_IGN);
	if (conn_setup(c, sock) < 0)
		return 1;
	int r = hv_loop_run(c->loop);
	shutdown(sock, SHUT_WR);
	return r < 0 ? 1 : r;
}
