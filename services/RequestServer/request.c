/* request.c — one request's life: its URL checked, its host resolved
 * (resolve.c), an easy handle configured and run (multi.c), the final
 * response's headers sent, redirects followed here (not by libcurl: each
 * new host must resolve through LookupServer too, and the method rules are
 * ours), and the outcome sent as finished with a typed error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <haven/log.h>

#include "RequestServer.h"
#include "headers.h"

/* Headers of one response beyond this are a hostile server's. */
#define RQS_MAX_HEADER_BYTES (256u << 10)
#define RQS_MAX_HEADERS 500u

static void reset_response(struct rqs_request *r)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->nheaders = 0;
	free(r->reason);
	r->reason = NULL;
	r->status = 0;
	r->has_location = r->redirecting = false;
}

void rqs_request_free(struct rqs_request *r)
{
	if (!r)
		return;
	rqs_multi_remove(r);
	rqs_gemini_free(r);
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->req_headers);
	curl_slist_free_all(r->resolve);
	reset_response(r);
	rqs_sink_close(r);
	free(r->method);
	free(r->url);
	free(r->proxy);
	free(r->proxy_rewritten);
	free(r->body);
	free(r->ca_pem);
	free(r->message);
	free(r);
}

/* Text for a String field: bytes from a server are not always UTF-8. */
static void make_printable(char *s)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void unlink_from_client(struct rqs_request *r)
{
	struct rqs_client *c = r->client;
	if (!c)
		return;
	if (r->prev)
		r->prev->next = r->next;
	else
		c->requests = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
	c->count--;
	r->client = NULL;
}

void rqs_request_finish(struct rqs_request *r)
{
	if (r->finished)
		return;
	r->finished = true;
	rqs_multi_remove(r);
	/* The body's EOF first: a client reading it to the end then gets
	 * the outcome. */
	rqs_sink_close(r);
	if (r->client) {
		const char *msg = r->message ? r->message : "";
		char *url = NULL;
		if (r->easy)
			curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url);
		_hv_free_ char *eff = strdup(url ? url : r->url);
		make_printable(eff);
		request_client_finished(r->client->conn, r->id, r->kind, msg, r->status, r->written,
					eff ? eff : "");
		unlink_from_client(r);
	}
	if (r->state != RQS_STARTING && r->state != RQS_RESOLVING)
		rqs_request_free(r);
}

void rqs_request_fail(struct rqs_request *r, rqs_kind kind, const char *fmt, ...)
{
	if (r->finished)
		return;
	if (!r->message) {
		va_list ap;
		va_start(ap, fmt);
		if (vasprintf(&r->message, fmt, ap) < 0)
			r->message = NULL;
		va_end(ap);
		make_printable(r->message);
		r->kind = kind;
	}
	rqs_request_finish(r);
}

/* --- libcurl's callbacks ------------------------------------------------ */

static void send_headers(struct rqs_request *r)
{
	r->headers_sent = true;
	if (!r->client)
		return;
	request_server_header *h = calloc(r->nheaders ? r->nheaders : 1, sizeof(*h));
	if (!h)
		return;
	for (size_t i = 0; i < r->nheaders; i++)
		h[i] = (request_server_header){.name = r->headers[i].name, .value = r->headers[i].value};
	hv_vec_request_server_header v = {.items = h, .count = r->nheaders};
	request_client_headers_received(r->client->conn, r->id, r->status, r->reason ? r->reason : "", v);
	free(h);
}

static void end_of_headers(struct rqs_request *r)
{
	long code = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	r->status = (uint32_t)code;
	if (code >= 100 && code < 200) {
		reset_response(r); /* informational: the real one follows */
		return;
	}
	if (code >= 300 && code < 400 && code != 304 && r->has_location && r->opts.max_redirects) {
		r->redirecting = true;
		return;
	}
	send_headers(r);
}

static int add_header(struct rqs_request *r, const char *line, size_t len)
{
	size_t nlen, vlen;
	const char *v;
	if (!rqs_header_split(line, len, &nlen, &v, &vlen))
		return 0; /* a line that is no header (a fold): skipped */
	if (r->nheaders >= RQS_MAX_HEADERS)
		return -E2BIG;
	struct rqs_header *h = realloc(r->headers, (r->nheaders + 1) * sizeof(*h));
	if (!h)
		return -ENOMEM;
	r->headers = h;
	h[r->nheaders].name = strndup(line, nlen);
	h[r->nheaders].value = strndup(v, vlen);
	if (!h[r->nheaders].name || !h[r->nheaders].value) {
		free(h[r->nheaders].name);
		free(h[r->nheaders].value);
		return -ENOMEM;
	}
	if (!strcasecmp(h[r->nheaders].name, "location"))
		r->has_location = true;
	r->nheaders++;
	return 0;
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata)
{
	struct rqs_request *r = userdata;
	size_t len = size * n, l = rqs_line_length(buf, len);
	const char *reason;
	size_t reason_len;
	if (memchr(buf, '\0', l))
		return 0; /* a NUL in a header: no ByteString can carry it */
	r->header_bytes += len;
	if (r->header_bytes > RQS_MAX_HEADER_BYTES) {
		r->header_overflow = true;
		return 0;
	}
	if (rqs_status_line(buf, l, &reason, &reason_len)) {
		reset_response(r);
		r->header_bytes = len;
		r->reason = strndup(reason, reason_len);
		return len;
	}
	if (l == 0) {
		end_of_headers(r);
		return len;
	}
	if (add_header(r, buf, l) < 0) {
		r->header_overflow = true;
		return 0;
	}
	return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)ultotal, (void)ulnow;
	struct rqs_request *r = userdata;
	if (!r->headers_sent || r->redirecting || !r->client)
		return 0;
	uint64_t now = hv_now_ns();
	if (now - r->last_progress_ns < RQS_PROGRESS_INTERVAL_NS)
		return 0;
	r->last_progress_ns = now;
	uint64_t off = r->opts.resume_from;
	request_client_progress(r->client->conn, r->id, off + (uint64_t)dlnow,
				dltotal ? off + (uint64_t)dltotal : 0);
	return 0;
}

/* CURLOPT_RESOLVER_START_FUNCTION: libcurl found no CURLOPT_RESOLVE entry
 * for the host. An IP literal needs no resolver; anything else would be
 * libcurl's own resolver, bypassing LookupServer: refused. */
static int on_resolver_start(void *resolver, void *reserved, void *userdata)
{
	(void)resolver, (void)reserved;
	struct rqs_request *r = userdata;
	return r->connect_ip ? 0 : 1;
}

/* --- configuring and starting ------------------------------------------- */

static void set_method(struct rqs_request *r)
{
	CURL *e = r->easy;
	if (!strcmp(r->method, "HEAD"))
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (r->body || !strcmp(r->method, "POST")) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? (char *)r->body : "");
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") && strcmp(r->method, "POST"))
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

static void set_timeouts(struct rqs_request *r)
{
	CURL *e = r->easy;
	const request_server_options *o = &r->opts;
	long connect = o->connect_timeout_ms ? (long)o->connect_timeout_ms : (long)rqs_opts.connect_timeout_ms;
	long idle = o->idle_timeout_ms ? (long)o->idle_timeout_ms : (long)rqs_opts.idle_timeout_ms;
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	/* Idle: less than a byte a second for that long (libcurl's speed
	 * check counts whole seconds; a paused transfer is never idle). */
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (idle + 999) / 1000);
}

static int configure(struct rqs_request *r)
{
	if (!r->easy && !(r->easy = curl_easy_init()))
		return -ENOMEM;
	CURL *e = r->easy;
	curl_easy_reset(e);
	r->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(e, CURLOPT_SHARE, rqs.share);
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rqs_sink_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, r);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, r->opts.progress ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_RESOLVER_START_FUNCTION, on_resolver_start);
	curl_easy_setopt(e, CURLOPT_RESOLVER_START_DATA, r);
	curl_easy_setopt(e, CURLOPT_RESOLVE, r->resolve);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding libcurl decodes */
	curl_easy_setopt(e, CURLOPT_COOKIEFILE, "");	  /* the engine on: the share's jar */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->req_headers);
	curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, r->use_proxy ? r->use_proxy : "");
	/* proxy.c decided with $no_proxy already: libcurl applying it again
	 * (its rules differ) would connect directly to a host nobody looked
	 * up, with its own resolver. */
	curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	/* A second request to an HTTP/2 host waits for the first one's
	 * connection to multiplex on rather than opening its own. Only where
	 * h2 can be (ALPN): on plain HTTP/1.1 it only adds a wait (one
	 * request-bench run: 830 -> 2,560 sequential GETs/s without it; the
	 * machine was loaded, the figure is rough). */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncasecmp(r->url, "https:", 6) ? 0L : 1L);
	curl_easy_setopt(e, CURLOPT_CAINFO, rqs_opts.ca_file);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	if (r->ca_pem) {
		struct curl_blob blob = {.data = r->ca_pem, .len = r->ca_len, .flags = CURL_BLOB_COPY};
		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (r->opts.resume_from)
		curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)r->opts.resume_from);
	set_method(r);
	set_timeouts(r);
	return 0;
}

static void start_transfer(struct rqs_request *r)
{
	r->state = RQS_IDLE;
	int e = configure(r);
	if (e >= 0)
		e = rqs_multi_add(r);
	if (e < 0)
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "starting the transfer: %s", strerror(-e));
}

void rqs_request_resolved(struct rqs_request *r, struct curl_slist *resolve)
{
	if (r->gemini) {
		/* "host:port:addresses", the host a name (a literal is not
		 * resolved) and the port digits. */
		const char *a = resolve->data;
		for (int colons = 0; *a && colons < 2; a++)
			colons += *a == ':';
		rqs_gemini_connect(r, a);
		curl_slist_free_all(resolve);
		return;
	}
	curl_slist_free_all(r->resolve);
	r->resolve = resolve;
	start_transfer(r);
}

static bool is_ip_literal(const char *host)
{
	unsigned char buf[16];
	return host[0] == '[' || inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void begin_file(struct rqs_request *r, CURLU *u)
{
	_hv_free_ char *path = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK || !path)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_NOT_FOUND, "file:// without a path");
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_NOT_PERMITTED,
					"%s: not permitted: outside what RequestServer may read", path);
	if (fd < 0)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_NOT_FOUND, "%s: %s", path, strerror(errno));
	close(fd);
	r->connect_ip = true;
	start_transfer(r);
}

/* gemini://: no proxy (none speaks it); the name through LookupServer. */
static void begin_gemini(struct rqs_request *r, CURLU *u)
{
	_hv_free_ char *host = NULL, *port = NULL;
	int e = rqs_gemini_begin(r, u, &host, &port);
	if (e == -EOPNOTSUPP)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_NOT_PERMITTED,
					"gemini:// is GET only: no other method, no body, no resume");
	if (e == -E2BIG)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL, "a gemini:// URL over 1024 bytes");
	if (e < 0)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL, "%s: %s", r->url, strerror(-e));
	if (is_ip_literal(host))
		return rqs_gemini_connect(r, host);
	rqs_resolve(r, host, port);
}

/* The host and port a connection goes to: the proxy's when there is one. */
static int connect_target(struct rqs_request *r, CURLU *u, const char *scheme, char **host, char **port)
{
	if (curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK)
		return -EINVAL;
	const char *proxy = r->use_proxy = rqs_proxy_for(r, scheme, *host);
	/* SOCKS4 and SOCKS5 resolve the target here: name it to the proxy
	 * instead (socks4a, socks5h), as nothing here resolves but LookupServer. */
	bool s4 = !strncasecmp(proxy, "socks4://", 9), s5 = !strncasecmp(proxy, "socks5://", 9);
	if (s4 || s5) {
		free(r->proxy_rewritten);
		if (asprintf(&r->proxy_rewritten, "%s://%s", s4 ? "socks4a" : "socks5h", proxy + 9) < 0)
			return r->proxy_rewritten = NULL, -ENOMEM;
		proxy = r->use_proxy = r->proxy_rewritten;
	}
	if (*proxy) {
		free(*host);
		*host = NULL;
		_hv_cleanup_(curl_url_cleanupp) CURLU *p = curl_url();
		if (!p || curl_url_set(p, CURLUPART_URL, proxy, CURLU_GUESS_SCHEME) != CURLUE_OK ||
		    curl_url_get(p, CURLUPART_HOST, host, 0) != CURLUE_OK)
			return -EINVAL;
		if (curl_url_get(p, CURLUPART_PORT, port, 0) != CURLUE_OK)
			*port = strdup("1080"); /* libcurl's default proxy port */
		return *port ? 0 : -ENOMEM;
	}
	if (curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		return -EINVAL;
	return 0;
}

void rqs_request_begin(struct rqs_request *r)
{
	r->state = RQS_IDLE;
	reset_response(r);
	r->header_bytes = 0;
	_hv_cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
	_hv_free_ char *scheme = NULL, *host = NULL, *port = NULL;
	if (!u || curl_url_set(u, CURLUPART_URL, r->url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL, "%s: not a URL", r->url);
	r->use_proxy = "";
	if (!strcmp(scheme, "file"))
		return begin_file(r, u);
	if (!strcmp(scheme, "gemini"))
		return begin_gemini(r, u);
	if (connect_target(r, u, scheme, &host, &port) < 0)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL, "%s: no host to connect to", r->url);
	r->connect_ip = is_ip_literal(host);
	if (r->connect_ip)
		return start_transfer(r);
	rqs_resolve(r, host, port);
}

/* --- the end of a transfer ---------------------------------------------- */

static void follow_redirect(struct rqs_request *r)
{
	char *loc = NULL;
	curl_easy_getinfo(r->easy, CURLINFO_REDIRECT_URL, &loc);
	if (!loc)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL,
					"a %u redirect without a usable Location", r->status);
	if (r->redirects >= r->opts.max_redirects)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_TOO_MANY_REDIRECTS,
					"more than %u redirects (the last to %s)", r->opts.max_redirects, loc);
	if (strncasecmp(loc, "http://", 7) && strncasecmp(loc, "https://", 8))
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_NOT_PERMITTED,
					"a redirect to %s: only http and https are followed", loc);
	char *url = strdup(loc);
	if (!url)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory");
	free(r->url);
	r->url = url;
	/* RFC 9110 15.4: 303 turns anything but HEAD into GET; browsers do the
	 * same to a POST after 301/302. 307 and 308 keep method and body. */
	bool to_get = (r->status == 303 && strcmp(r->method, "HEAD")) ||
		      ((r->status == 301 || r->status == 302) && !strcmp(r->method, "POST"));
	if (to_get) {
		free(r->method);
		r->method = strdup("GET");
		free(r->body);
		r->body = NULL;
		r->body_len = 0;
		if (!r->method)
			return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "out of memory");
	}
	r->redirects++;
	rqs_request_begin(r);
}

void rqs_request_done(struct rqs_request *r, CURLcode code)
{
	if (r->sink_err == -EPIPE)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CANCELLED, "the client stopped reading the body");
	if (r->sink_err)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "writing the body: %s", strerror(-r->sink_err));
	if (r->header_overflow)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_PROTOCOL,
					"response headers over %u bytes or %u lines, or with a NUL byte",
					RQS_MAX_HEADER_BYTES, RQS_MAX_HEADERS);
	if (code == CURLE_COULDNT_RESOLVE_HOST && !r->connect_ip)
		return rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_DNS, "%s: not resolved through LookupServer", r->url);
	if (code != CURLE_OK)
		return rqs_request_fail(r, rqs_kind_from_curl(code), "%s",
					r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
	if (r->redirecting)
		return follow_redirect(r);
	r->kind = REQUEST_SERVER_ERROR_KIND_NONE;
	r->done = true;
	if (rqs_sink_drained(r))
		rqs_request_finish(r);
}
