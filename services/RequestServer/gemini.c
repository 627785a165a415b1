/* gemini.c — gemini:// requests, in-house over OpenSSL (libcurl has no
 * Gemini): a non-blocking connect to the addresses LookupServer gave, a
 * TLS handshake with SNI, the certificate checked by trust on first use
 * (tofu.c), the request line "URL\r\n", the response header
 * "<STATUS> <META>\r\n" (status and meta become headers_received's status
 * and reason, meta also Content-Type for 2x), the body through sink.c
 * with the same backpressure as HTTP, and 3x redirects followed here like
 * HTTP's (gemini:// only, at most Options.max_redirects).
 *
 * A body ends with the server's TLS close_notify; a connection that just
 * closes may have been cut short, and is a Protocol error (the Gemini
 * specification requires close_notify for exactly that reason). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <haven/log.h>
#include <haven/loop.h>

#include "RequestServer.h"
#include "headers.h"

#define GEM_MAX_URL 1024u    /* the specification's limit on a request */
#define GEM_MAX_HEADER 1029u /* "NN " + 1024 bytes of meta + CRLF */

enum gem_phase { GEM_CONNECTING, GEM_HANDSHAKE, GEM_SENDING, GEM_HEADER, GEM_BODY };

struct rqs_gemini {
	char *host, *port;
	char **addrs; /* numeric, in LookupServer's order */
	size_t naddrs, next_addr;
	int fd;
	SSL *ssl;
	hv_watch *watch;
	hv_timer *timer;
	enum gem_phase phase;
	char *line; /* "URL\r\n" */
	size_t line_len, line_off;
	char head[GEM_MAX_HEADER + 1];
	size_t head_len;
	char buf[16384]; /* a chunk the sink has not taken yet */
	size_t buf_len;
	uint64_t received;
};

static SSL_CTX *gem_ctx;

static void on_io(hv_loop *loop, int fd, uint32_t events, void *userdata);
static void on_timeout(hv_loop *loop, hv_timer *t, void *userdata);

static void close_connection(struct rqs_gemini *g)
{
	hv_watch_free(g->watch);
	g->watch = NULL;
	if (g->ssl)
		SSL_free(g->ssl);
	g->ssl = NULL;
	hv_close(&g->fd);
	g->phase = GEM_CONNECTING;
	g->head_len = g->buf_len = 0;
	g->line_off = 0;
}

void rqs_gemini_free(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	if (!g)
		return;
	close_connection(g);
	hv_timer_free(g->timer);
	for (size_t i = 0; i < g->naddrs; i++)
		free(g->addrs[i]);
	free(g->addrs);
	free(g->host);
	free(g->port);
	free(g->line);
	free(g);
	r->gemini = NULL;
}

/* The OpenSSL error queue as one line, for a message. */
static const char *ssl_reason(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();
	if (!e)
		return "connection closed";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

static uint64_t ms_ns(uint64_t ms) { return ms * 1000000ull; }

/* Connect and handshake within the connect timeout; then no byte for the
 * idle timeout ends it. The whole request's timeout is checked too. */
static void arm_timer(struct rqs_request *r, bool connecting)
{
	struct rqs_gemini *g = r->gemini;
	uint64_t ms = connecting ? (r->opts.connect_timeout_ms ? r->opts.connect_timeout_ms
							       : (uint64_t)rqs_opts.connect_timeout_ms)
				 : (r->opts.idle_timeout_ms ? r->opts.idle_timeout_ms
							    : (uint64_t)rqs_opts.idle_timeout_ms);
	if (g->timer)
		hv_timer_arm(g->timer, ms_ns(ms), 0);
	else if (hv_loop_add_timer(rqs.loop, ms_ns(ms), 0, on_timeout, r, &g->timer) < 0)
		g->timer = NULL; /* no timeout rather than no request */
}

static int set_events(struct rqs_request *r, uint32_t ev)
{
	struct rqs_gemini *g = r->gemini;
	if (g->watch)
		return hv_watch_set_events(g->watch, ev);
	return hv_loop_add_fd(rqs.loop, g->fd, ev, on_io, r, &g->watch);
}

static void connect_next(struct rqs_request *r, int last_err);

/* 0, or r failed (and is gone) and -1. */
static int start_tls(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	if (!gem_ctx) {
		gem_ctx = SSL_CTX_new(TLS_client_method());
		if (!gem_ctx)
			return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TLS, "TLS: %s", ssl_reason()), -1;
		SSL_CTX_set_min_proto_version(gem_ctx, TLS1_2_VERSION);
		/* Gemini servers present self-signed certificates: trust is
		 * decided on first use (tofu.c), not by a CA. */
		SSL_CTX_set_verify(gem_ctx, SSL_VERIFY_NONE, NULL);
	}
	g->ssl = SSL_new(gem_ctx);
	if (!g->ssl || !SSL_set_fd(g->ssl, g->fd))
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TLS, "TLS: %s", ssl_reason()), -1;
	unsigned char ip[16];
	if (inet_pton(AF_INET, g->host, ip) != 1 && inet_pton(AF_INET6, g->host, ip) != 1)
		SSL_set_tlsext_host_name(g->ssl, g->host);
	g->phase = GEM_HANDSHAKE;
	return 0;
}

static void connect_next(struct rqs_request *r, int last_err)
{
	struct rqs_gemini *g = r->gemini;
	close_connection(g);
	while (g->next_addr < g->naddrs) {
		const char *a = g->addrs[g->next_addr++];
		struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
		struct addrinfo *ai = NULL;
		if (getaddrinfo(a, g->port, &hints, &ai) != 0)
			continue;
		g->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int e = g->fd < 0 || (connect(g->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
				? errno
				: 0;
		freeaddrinfo(ai);
		if (e) {
			last_err = e;
			hv_close(&g->fd);
			continue;
		}
		g->phase = GEM_CONNECTING;
		arm_timer(r, true);
		if (set_events(r, HV_IO_WRITE) < 0)
			return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory");
		return;
	}
	rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CONNECT, "%s:%s: %s", g->host, g->port,
			 last_err ? strerror(last_err) : "no address to connect to");
}

/* SSL_ERROR_WANT_* → which event to wait for; false: it failed. */
static bool ssl_wait(struct rqs_request *r, int ret)
{
	switch (SSL_get_error(r->gemini->ssl, ret)) {
	case SSL_ERROR_WANT_READ: set_events(r, HV_IO_READ); return true;
	case SSL_ERROR_WANT_WRITE: set_events(r, HV_IO_WRITE); return true;
	default: return false;
	}
}

static void headers(struct rqs_request *r, uint32_t status, const char *meta)
{
	r->status = status;
	free(r->reason);
	r->reason = strdup(meta);
	if (!r->client)
		return;
	request_server_header h = {.name = "Content-Type", .value = (char *)meta};
	hv_vec_request_server_header v = {.items = &h, .count = status / 10 == 2 ? 1 : 0};
	request_client_headers_received(r->client->conn, r->id, status, meta, v);
	r->headers_sent = true;
}

static void follow(struct rqs_request *r, const char *target)
{
	if (r->redirects >= r->opts.max_redirects)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TOO_MANY_REDIRECTS,
					"more than %u redirects (the last to %s)", r->opts.max_redirects, target);
	_hv_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
	char *next = NULL;
	/* A relative target resolves against the URL that redirected. */
	if (!u || curl_url_set(u, CURLUPART_URL, r->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, target, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &next, 0) != CURLUE_OK)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL, "a redirect to %s: not a URL", target);
	if (strncasecmp(next, "gemini://", 9)) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_NOT_PERMITTED,
				 "a redirect to %s: only gemini:// is followed from gemini://", next);
		return curl_free(next);
	}
	free(r->url);
	r->url = strdup(next);
	curl_free(next);
	if (!r->url)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory");
	r->redirects++;
	rqs_gemini_free(r);
	rqs_request_begin(r);
}

/* The response header is whole in g->head (without CRLF): act on it.
 * Returns true when the body follows. */
static bool parse_header(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	unsigned status;
	const char *m;
	size_t mlen;
	if (!rqs_gemini_header(g->head, g->head_len, &status, &m, &mlen)) {
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL, "not a Gemini response header");
		return false;
	}
	const char *meta = m; /* NUL-terminated: it ends g->head */
	if (status / 10 == 3 && r->opts.max_redirects) {
		follow(r, meta);
		return false;
	}
	headers(r, status, status / 10 == 2 && !*meta ? "text/gemini; charset=utf-8" : meta);
	if (status / 10 == 2)
		return true;
	/* Input, redirect not followed, failures, certificate wanted: the
	 * response is the header; no body follows. */
	r->kind = REQUEST_SERVER_ERROR_KIND_NONE;
	rqs_request_finish(r);
	return false;
}

/* Read the header byte by byte off TLS records (at most 1029 bytes: it
 * cannot be read past, the body follows it in the same record). */
static void read_header(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	for (;;) {
		char c;
		int n = SSL_read(g->ssl, &c, 1);
		if (n <= 0) {
			if (ssl_wait(r, n))
				return;
			return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL,
						"the response ended before its header: %s", ssl_reason());
		}
		if (c == '\n' && g->head_len && g->head[g->head_len - 1] == '\r') {
			g->head[--g->head_len] = 0;
			arm_timer(r, false);
			if (!parse_header(r))
				return;
			g->phase = GEM_BODY;
			return rqs_gemini_resume(r);
		}
		if (g->head_len >= GEM_MAX_HEADER)
			return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL,
						"a response header over %u bytes", GEM_MAX_HEADER);
		g->head[g->head_len++] = c;
	}
}

static void progress(struct rqs_request *r)
{
	if (!r->opts.progress || !r->client)
		return;
	uint64_t now = hv_now_ns();
	if (now - r->last_progress_ns < RQS_PROGRESS_INTERVAL_NS)
		return;
	r->last_progress_ns = now;
	request_client_progress(r->client->conn, r->id, r->gemini->received, 0);
}

/* Offer the kept chunk to the sink: 1 taken, 0 the sink is full (sink.c
 * calls rqs_gemini_resume once it is writable), -1 r failed and is gone. */
static int hand_over(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	if (!g->buf_len)
		return 1;
	size_t n = rqs_sink_write(g->buf, 1, g->buf_len, r);
	if (n == CURL_WRITEFUNC_PAUSE)
		return 0;
	if (n != g->buf_len) {
		if (r->sink_err == -EPIPE)
			rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CANCELLED, "the client stopped reading the body");
		else
			rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "writing the body: %s",
					 strerror(r->sink_err ? -r->sink_err : EIO));
		return -1;
	}
	g->buf_len = 0;
	return 1;
}

static void body_ended(struct rqs_request *r)
{
	r->kind = REQUEST_SERVER_ERROR_KIND_NONE;
	r->done = true;
	close_connection(r->gemini);
	if (rqs_sink_drained(r))
		rqs_request_finish(r);
}

void rqs_gemini_resume(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	if (!g || g->phase != GEM_BODY)
		return;
	r->paused = false;
	for (;;) {
		int h = hand_over(r);
		if (h < 0)
			return;
		if (h == 0) {
			set_events(r, 0); /* read nothing more until then */
			return;
		}
		/* SSL_read before waiting: a record already decrypted is not
		 * something epoll can announce. */
		int n = SSL_read(g->ssl, g->buf, sizeof g->buf);
		if (n > 0) {
			g->buf_len = (size_t)n;
			g->received += (uint64_t)n;
			arm_timer(r, false);
			progress(r);
			continue;
		}
		int e = SSL_get_error(g->ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN)
			return body_ended(r);
		if (ssl_wait(r, n))
			return;
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL,
					"the connection closed without TLS close_notify after %llu body bytes: "
					"the body may be cut short (%s)",
					(unsigned long long)g->received, ssl_reason());
	}
}

static void step(struct rqs_request *r)
{
	struct rqs_gemini *g = r->gemini;
	int n;
	switch (g->phase) {
	case GEM_CONNECTING: {
		int err = 0;
		socklen_t len = sizeof err;
		if (getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err)
			return connect_next(r, err);
		if (start_tls(r) < 0)
			return;
		__attribute__((fallthrough));
	}
	case GEM_HANDSHAKE:
		n = SSL_connect(g->ssl);
		if (n != 1) {
			if (ssl_wait(r, n))
				return;
			return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TLS, "TLS handshake with %s:%s: %s",
						g->host, g->port, ssl_reason());
		}
		if (rqs_tofu_check(r, g->host, g->port, g->ssl) < 0)
			return; /* failed r with the reason */
		g->phase = GEM_SENDING;
		arm_timer(r, false);
		__attribute__((fallthrough));
	case GEM_SENDING:
		while (g->line_off < g->line_len) {
			n = SSL_write(g->ssl, g->line + g->line_off, (int)(g->line_len - g->line_off));
			if (n <= 0) {
				if (ssl_wait(r, n))
					return;
				return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CONNECT, "sending the request: %s",
							ssl_reason());
			}
			g->line_off += (size_t)n;
		}
		g->phase = GEM_HEADER;
		set_events(r, HV_IO_READ);
		__attribute__((fallthrough));
	case GEM_HEADER: return read_header(r);
	case GEM_BODY: return rqs_gemini_resume(r);
	}
}

static void on_io(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	(void)loop, (void)fd, (void)events;
	step(userdata);
}

static void on_timeout(hv_loop *loop, hv_timer *t, void *userdata)
{
	(void)loop, (void)t;
	struct rqs_request *r = userdata;
	struct rqs_gemini *g = r->gemini;
	if (g->phase == GEM_CONNECTING && g->next_addr < g->naddrs)
		return connect_next(r, ETIMEDOUT);
	rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TIMEOUT, "%s:%s: %s", g->host, g->port,
			 g->phase <= GEM_HANDSHAKE ? "connect timeout" : "nothing received for the idle timeout");
}

/* "a,[b],c": numeric addresses, IPv6 ones in brackets or not. */
static int take_addresses(struct rqs_gemini *g, const char *list)
{
	for (const char *s = list; *s;) {
		size_t n = strcspn(s, ",");
		char **v = realloc(g->addrs, (g->naddrs + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		g->addrs = v;
		const char *a = s;
		size_t len = n;
		if (len >= 2 && a[0] == '[' && a[len - 1] == ']')
			a++, len -= 2;
		if (!(g->addrs[g->naddrs] = strndup(a, len)))
			return -ENOMEM;
		g->naddrs++;
		s += n + (s[n] == ',');
	}
	return 0;
}

void rqs_gemini_connect(struct rqs_request *r, const char *addresses)
{
	struct rqs_gemini *g = r->gemini;
	if (take_addresses(g, addresses) < 0)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory");
	connect_next(r, 0);
}

int rqs_gemini_begin(struct rqs_request *r, CURLU *u, char **host, char **port)
{
	if (r->opts.resume_from || r->body || strcmp(r->method, "GET"))
		return -EOPNOTSUPP;
	if (strlen(r->url) > GEM_MAX_URL)
		return -E2BIG;
	struct rqs_gemini *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	r->gemini = g;
	g->fd = -1;
	if (curl_url_get(u, CURLUPART_HOST, &g->host, 0) != CURLUE_OK)
		return -EINVAL;
	if (curl_url_get(u, CURLUPART_PORT, &g->port, 0) != CURLUE_OK && !(g->port = strdup("1965")))
		return -ENOMEM;
	if (asprintf(&g->line, "%s\r\n", r->url) < 0)
		return g->line = NULL, -ENOMEM;
	g->line_len = strlen(g->line);
	/* An IPv6 literal without its brackets: for SNI's test and messages. */
	size_t hl = strlen(g->host);
	if (hl >= 2 && g->host[0] == '[' && g->host[hl - 1] == ']') {
		memmove(g->host, g->host + 1, hl - 2);
		g->host[hl - 2] = 0;
	}
	if (!(*host = strdup(g->host)) || !(*port = strdup(g->port)))
		return -ENOMEM;
	return 0;
}

void rqs_gemini_cleanup(void)
{
	SSL_CTX_free(gem_ctx);
	gem_ctx = NULL;
}
