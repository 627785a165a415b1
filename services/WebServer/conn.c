/* conn.c — connections of a worker (conn.h) and the answer to each request.
 *
 * A connection reads into a fixed buffer, parses every complete request in
 * it (pipelining) and queues the answers as chunks — bytes in the output
 * buffer, or a range of a file — which go out with one writev while they
 * are in memory (headers, small cached files) and with sendfile otherwise.
 * While answers wait, nothing more is read: a client that does not read
 * cannot make us buffer. */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>

#include "http.h"

#define IN_SIZE (WS_MAX_HEAD + 4096)
#define MAX_CHUNKS 128		 /* queued pieces of answers */
#define OUT_HIGH (256 * 1024)	 /* stop parsing pipelined requests beyond this */
#define ACCESS_LOG_FLUSH 16384

typedef struct chunk {
	ws_file *file;	   /* NULL: bytes of the output buffer */
	uint64_t off, len; /* in the file, or in out */
} chunk;

typedef struct ws_conn {
	ws_worker *w;
	int fd;
	hv_watch *watch;
	char *in; /* IN_SIZE bytes while active; freed when idle (idle_trim) */
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	chunk chunks[MAX_CHUNKS];
	int nchunks, first;
	bool close_after;
	uint64_t active_ns, head_ns; /* last progress; first byte of a head */
	char peer[48];
	struct ws_conn *prev, *next;
} ws_conn;

struct ws_worker {
	hv_loop *loop;
	ws_root *root;
	const ws_config *cfg;
	hv_watch *listen[16];
	int nlisten;
	int *fds;
	ws_conn *conns;
	unsigned nconns;
	bool paused;
	hv_timer *tick;
	char *log;
	size_t log_len, log_cap;
	time_t date_t;
	char date[30];
	char headers[2048]; /* --header lines, CRLF-terminated */
};

static void conn_free(ws_conn *c);

/* --- output -------------------------------------------------------------- */

static int out_reserve(ws_conn *c, size_t n)
{
	if (c->out_len + n <= c->out_cap)
		return 0;
	size_t cap = c->out_cap ? c->out_cap : 4096;
	while (cap < c->out_len + n)
		cap *= 2;
	char *p = realloc(c->out, cap);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

static int push_chunk(ws_conn *c, ws_file *f, uint64_t off, uint64_t len)
{
	if (len == 0)
		return 0;
	chunk *last = c->nchunks > c->first ? &c->chunks[c->nchunks - 1] : NULL;
	if (!f && last && !last->file && last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	if (c->nchunks == MAX_CHUNKS)
		return -ENOBUFS;
	if (f)
		f->refs++;
	c->chunks[c->nchunks++] = (chunk){ f, off, len };
	return 0;
}

/* printf into the output buffer: one vsnprintf unless it needs more room. */
__attribute__((format(printf, 2, 3))) static int outf(ws_conn *c, const char *fmt, ...)
{
	va_list ap;
	if (out_reserve(c, 512) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	int n = vsnprintf(c->out + c->out_len, c->out_cap - c->out_len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= c->out_cap - c->out_len) {
		if (out_reserve(c, (size_t)n + 1) < 0)
			return -ENOMEM;
		va_start(ap, fmt);
		vsnprintf(c->out + c->out_len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	size_t off = c->out_len;
	c->out_len += (size_t)n;
	return push_chunk(c, NULL, off, (uint64_t)n);
}

static int out_bytes(ws_conn *c, const void *p, size_t n)
{
	if (out_reserve(c, n) < 0)
		return -ENOMEM;
	memcpy(c->out + c->out_len, p, n);
	size_t off = c->out_len;
	c->out_len += n;
	return push_chunk(c, NULL, off, n);
}

static uint64_t queued_bytes(const ws_conn *c)
{
	uint64_t n = 0;
	for (int i = c->first; i < c->nchunks; i++)
		n += c->chunks[i].len;
	return n;
}

/* Send what is queued: 1 all sent, 0 the socket is full, <0 an error. */
static int flush(ws_conn *c)
{
	while (c->first < c->nchunks) {
		chunk *k = &c->chunks[c->first];
		ssize_t n;
		if (k->file && !k->file->data) {
			off_t off = (off_t)k->off;
			n = sendfile(c->fd, k->file->fd, &off, HV_MIN(k->len, (uint64_t)1 << 30));
			if (n == 0)
				return -EIO; /* the file shrank under us */
		} else {
			struct iovec iov[64];
			int k0 = c->first, niov = 0;
			for (int i = k0; i < c->nchunks && niov < 64; i++) {
				chunk *x = &c->chunks[i];
				if (x->file && !x->file->data)
					break;
				iov[niov++] = (struct iovec){ (x->file ? x->file->data : c->out) + x->off,
							     x->len };
			}
			n = writev(c->fd, iov, niov);
		}
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		c->active_ns = hv_now_ns();
		uint64_t left = (uint64_t)n;
		while (c->first < c->nchunks) {
			chunk *x = &c->chunks[c->first];
			uint64_t take = HV_MIN(left, x->len);
			x->off += take;
			x->len -= take;
			left -= take;
			if (x->len)
				break;
			ws_file_unref(x->file);
			c->first++;
		}
	}
	c->first = c->nchunks = 0;
	c->out_len = 0;
	return 1;
}

/* --- the access log (combined format, on stderr: the service's log) ---- */

static void log_flush(ws_worker *w)
{
	if (w->log_len)
		(void)hv_write_full(STDERR_FILENO, w->log, w->log_len);
	w->log_len = 0;
}

static void log_str(FILE *m, ws_str s)
{
	if (!s.p) {
		fputc('-', m);
		return;
	}
	for (size_t i = 0; i < s.n; i++) { /* no forged lines or quotes */
		unsigned char ch = (unsigned char)s.p[i];
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			fprintf(m, "\\x%02x", ch);
		else
			fputc(ch, m);
	}
}

static void access_log(ws_conn *c, const ws_request *req, int status, uint64_t bytes)
{
	ws_worker *w = c->w;
	if (w->cfg->no_access_log)
		return;
	char *line = NULL, when[64];
	size_t len = 0;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
	FILE *m = open_memstream(&line, &len);
	if (!m)
		return;
	fprintf(m, "%s - - [%s] \"", c->peer, when);
	if (req) {
		log_str(m, req->method_name);
		fputc(' ', m);
		log_str(m, req->target);
		fprintf(m, " HTTP/1.%d", req->minor);
	}
	fprintf(m, "\" %d %llu \"", status, (unsigned long long)bytes);
	log_str(m, req ? req->referer : (ws_str){ 0 });
	fputs("\" \"", m);
	log_str(m, req ? req->user_agent : (ws_str){ 0 });
	fputs("\"\n", m);
	if (fclose(m) == 0 && w->log_len + len <= w->log_cap) {
		memcpy(w->log + w->log_len, line, len);
		w->log_len += len;
	}
	free(line);
	if (w->log_len > w->log_cap - 1024)
		log_flush(w);
}

/* --- answers ---------------------------------------------------------------- */

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Not Allowed";
	case 412: return "Precondition Failed";
	case 413: return "Request Entity Too Large";
	case 414: return "Request-URI Too Large";
	case 416: return "Requested Range Not Satisfiable";
	case 431: return "Request Header Fields Too Large";
	case 505: return "HTTP Version Not Supported";
	default: return "Internal Server Error";
	}
}

static const char *date_now(ws_worker *w)
{
	time_t now = time(NULL);
	if (now != w->date_t) {
		w->date_t = now;
		ws_format_date(now, w->date);
	}
	return w->date;
}

/* Status line and the headers every answer has. */
static int head(ws_conn *c, const ws_request *req, int status)
{
	bool ka = !c->close_after;
	return outf(c, "HTTP/1.1 %d %s\r\nServer: Haven\r\nDate: %s\r\n%s%s", status, reason(status),
		    date_now(c->w), ka ? (req && req->minor == 0 ? "Connection: keep-alive\r\n" : "")
				       : "Connection: close\r\n",
		    c->w->headers);
}

static int error_page(ws_conn *c, const ws_request *req, int status, const char *extra)
{
	char body[256];
	int n = snprintf(body, sizeof body,
			 "<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d "
			 "%s</h1></center>\r\n</body>\r\n</html>\r\n",
			 status, reason(status), status, reason(status));
	int r = head(c, req, status);
	if (r == 0)
		r = outf(c, "Content-Type: text/html\r\nContent-Length: %d\r\n%s\r\n", n, extra ? extra : "");
	if (r == 0 && (!req || req->method != WS_HEAD))
		r = out_bytes(c, body, (size_t)n);
	access_log(c, req, status, req && req->method == WS_HEAD ? 0 : (uint64_t)n);
	return r;
}

/* RFC 9110 13.2.2: If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since, in that order. 0: go on; else the status. */
static int preconditions(const ws_request *req, const ws_file *f)
{
	if (req->if_match.p && !ws_etag_matches(req->if_match, f->etag, false))
		return 412;
	if (!req->if_match.p && req->if_unmodified_since.p) {
		time_t t = ws_parse_date(req->if_unmodified_since.p, req->if_unmodified_since.n);
		if (t >= 0 && f->st.st_mtime > t)
			return 412;
	}
	if (req->if_none_match.p)
		return ws_etag_matches(req->if_none_match, f->etag, true) ? 304 : 0;
	if (req->if_modified_since.p) {
		time_t t = ws_parse_date(req->if_modified_since.p, req->if_modified_since.n);
		if (t >= 0 && f->st.st_mtime <= t)
			return 304;
	}
	return 0;
}

/* If-Range: the Range applies only to the representation it names. */
static bool if_range_holds(const ws_request *req, const ws_file *f)
{
	ws_str v = req->if_range;
	if (!v.p)
		return true;
	if (v.n && (v.p[0] == '"' || v.p[0] == 'W'))
		return ws_etag_matches(v, f->etag, false);
	return ws_parse_date(v.p, v.n) == f->st.st_mtime;
}

/* A precompressed sibling for the encodings the client takes: the first of
 * .br, .zst, .gz that exists. *vary: one exists at all. */
static ws_file *sibling(ws_conn *c, const ws_request *req, const char *rel, const char **enc,
			bool *vary)
{
	static const struct {
		const char *coding, *suffix;
	} kinds[] = { { "br", ".br" }, { "zstd", ".zst" }, { "gzip", ".gz" } };
	ws_file *best = NULL;
	char name[WS_MAX_REQUEST_LINE + 8];
	for (size_t i = 0; i < HV_ARRAY_SIZE(kinds); i++) {
		snprintf(name, sizeof name, "%s%s", rel, kinds[i].suffix);
		ws_file *f = NULL;
		if (ws_file_get(c->w->root, name, &f) < 0)
			continue;
		if (!S_ISREG(f->st.st_mode)) {
			ws_file_unref(f);
			continue;
		}
		*vary = true;
		if (!best && req->accept_encoding.p && ws_accepts_encoding(req->accept_encoding, kinds[i].coding)) {
			best = f;
			*enc = kinds[i].coding;
		} else {
			ws_file_unref(f);
		}
	}
	return best;
}

static int send_ranges(ws_conn *c, const ws_request *req, ws_file *f, const char *type,
		       const char *common, ws_range *rg, int n)
{
	uint64_t size = (uint64_t)f->st.st_size;
	bool body = req->method != WS_HEAD;
	int r = head(c, req, 206);
	if (n == 1) {
		uint64_t len = rg[0].last - rg[0].first + 1;
		if (r == 0)
			r = outf(c, "Content-Type: %s\r\nContent-Length: %llu\r\n%sContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
				 type, (unsigned long long)len, common, (unsigned long long)rg[0].first,
				 (unsigned long long)rg[0].last, (unsigned long long)size);
		if (r == 0 && body)
			r = push_chunk(c, f, rg[0].first, len);
		access_log(c, req, 206, body ? len : 0);
		return r;
	}
	/* multipart/byteranges: the part headers are known, so is the length. */
	char boundary[32], part[WS_MAX_RANGES][256];
	snprintf(boundary, sizeof boundary, "%016llx", (unsigned long long)hv_now_ns());
	uint64_t total = 0;
	for (int i = 0; i < n; i++) {
		snprintf(part[i], sizeof part[i],
			 "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
			 boundary, type, (unsigned long long)rg[i].first, (unsigned long long)rg[i].last,
			 (unsigned long long)size);
		total += strlen(part[i]) + rg[i].last - rg[i].first + 1;
	}
	total += strlen(boundary) + 8; /* "\r\n--" B "--\r\n" */
	if (r == 0)
		r = outf(c, "Content-Type: multipart/byteranges; boundary=%s\r\nContent-Length: %llu\r\n%s\r\n",
			 boundary, (unsigned long long)total, common);
	for (int i = 0; r == 0 && body && i < n; i++) {
		r = out_bytes(c, part[i], strlen(part[i]));
		if (r == 0)
			r = push_chunk(c, f, rg[i].first, rg[i].last - rg[i].first + 1);
	}
	if (r == 0 && body)
		r = outf(c, "\r\n--%s--\r\n", boundary);
	access_log(c, req, 206, body ? total : 0);
	return r;
}

/* A regular file f for name (its type), encoded by enc (NULL: as is). */
static int send_file(ws_conn *c, const ws_request *req, ws_file *f, const char *name,
		     const char *enc, bool vary)
{
	const char *type = ws_mime_type(c->w->root, name);
	char common[256];
	snprintf(common, sizeof common, "Last-Modified: %s\r\nETag: %s\r\n%s%s%s%sAccept-Ranges: bytes\r\n",
		 f->last_modified, f->etag, vary ? "Vary: Accept-Encoding\r\n" : "",
		 enc ? "Content-Encoding: " : "", enc ? enc : "", enc ? "\r\n" : "");
	int pre = preconditions(req, f);
	if (pre == 412)
		return error_page(c, req, 412, NULL);
	if (pre == 304) {
		int r = head(c, req, 304);
		access_log(c, req, 304, 0);
		return r ? r : outf(c, "%s\r\n", common);
	}
	uint64_t size = (uint64_t)f->st.st_size;
	if (req->range.p && if_range_holds(req, f)) {
		ws_range rg[WS_MAX_RANGES];
		int n = ws_parse_range(req->range.p, req->range.n, size, rg, WS_MAX_RANGES);
		if (n > 0)
			return send_ranges(c, req, f, type, common, rg, n);
		if (n == -416) {
			char cr[64];
			snprintf(cr, sizeof cr, "Content-Range: bytes */%llu\r\n", (unsigned long long)size);
			return error_page(c, req, 416, cr);
		}
	}
	int r = head(c, req, 200);
	if (r == 0)
		r = outf(c, "Content-Type: %s\r\nContent-Length: %llu\r\n%s\r\n", type,
			 (unsigned long long)size, common);
	if (r == 0 && req->method != WS_HEAD)
		r = push_chunk(c, f, 0, size);
	access_log(c, req, 200, req->method == WS_HEAD ? 0 : size);
	return r;
}

static int send_listing(ws_conn *c, const ws_request *req, ws_file *dir)
{
	_hv_free_ char *body = NULL;
	size_t len = 0;
	if (ws_list_directory(c->w->root, dir, req->path, &body, &len) < 0)
		return error_page(c, req, 500, NULL);
	int r = head(c, req, 200);
	if (r == 0)
		r = outf(c, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n\r\n", len);
	if (r == 0 && req->method != WS_HEAD)
		r = out_bytes(c, body, len);
	access_log(c, req, 200, req->method == WS_HEAD ? 0 : len);
	return r;
}

static int status_of_errno(int e)
{
	return e == -ENOENT || e == -ENOTDIR || e == -ENAMETOOLONG ? 404 : e == -ENOMEM ? 500 : 403;
}

/* A directory: its index file, a listing, or 403; "/dir" moves to "/dir/". */
static int send_directory(ws_conn *c, const ws_request *req, ws_file *dir, const char *rel)
{
	size_t plen = strlen(req->path);
	if (req->path[plen - 1] != '/') {
		char loc[WS_MAX_REQUEST_LINE + 32];
		snprintf(loc, sizeof loc, "Location: %s/\r\n", req->path);
		return error_page(c, req, 301, loc);
	}
	char name[WS_MAX_REQUEST_LINE + 256];
	snprintf(name, sizeof name, "%s%s%s", rel, rel[0] ? "/" : "", c->w->cfg->index);
	ws_file *f = NULL;
	int e = ws_file_get(c->w->root, name, &f);
	if (e == 0 && S_ISREG(f->st.st_mode)) {
		bool vary = false;
		const char *enc = NULL;
		ws_file *z = sibling(c, req, name, &enc, &vary);
		int r = send_file(c, req, z ? z : f, name, enc, vary);
		ws_file_unref(z);
		ws_file_unref(f);
		return r;
	}
	ws_file_unref(f);
	if (e < 0 && e != -ENOENT)
		return error_page(c, req, status_of_errno(e), NULL);
	return c->w->cfg->autoindex ? send_listing(c, req, dir) : error_page(c, req, 403, NULL);
}

static int answer(ws_conn *c, const ws_request *req)
{
	if (req->method != WS_GET && req->method != WS_HEAD) {
		c->close_after = true; /* a body we will not read may follow */
		return error_page(c, req, 405, "Allow: GET, HEAD\r\n");
	}
	if (req->has_body) {
		c->close_after = true;
		return error_page(c, req, 413, NULL);
	}
	char rel[WS_MAX_REQUEST_LINE];
	snprintf(rel, sizeof rel, "%s", req->path + 1);
	size_t n = strlen(rel);
	if (n && rel[n - 1] == '/')
		rel[n - 1] = '\0';
	ws_file *f = NULL;
	int e = ws_file_get(c->w->root, rel, &f);
	if (e < 0)
		return error_page(c, req, status_of_errno(e), NULL);
	int r;
	if (S_ISDIR(f->st.st_mode)) {
		r = send_directory(c, req, f, rel);
	} else if (req->path[strlen(req->path) - 1] == '/') {
		r = error_page(c, req, 404, NULL); /* "file/" is no directory */
	} else {
		bool vary = false;
		const char *enc = NULL;
		ws_file *z = sibling(c, req, rel, &enc, &vary);
		r = send_file(c, req, z ? z : f, rel, enc, vary);
		ws_file_unref(z);
	}
	ws_file_unref(f);
	return r;
}

/* --- reading and the connection's life -------------------------------- */

static void update_watch(ws_conn *c)
{
	bool pending = c->first < c->nchunks;
	hv_watch_set_events(c->watch, pending ? HV_IO_WRITE : HV_IO_READ);
}

/* Parse and answer every complete request in the buffer. */
static int process(ws_conn *c)
{
	size_t used = 0;
	/* Room for the largest answer: a multipart of WS_MAX_RANGES parts. */
	while (!c->close_after && used < c->in_len && queued_bytes(c) < OUT_HIGH &&
	       c->nchunks + 2 * WS_MAX_RANGES + 4 <= MAX_CHUNKS) {
		ws_request req;
		int n = ws_parse_request(c->in + used, c->in_len - used, &req);
		if (n == 0)
			break;
		if (n < 0) {
			c->close_after = true;
			error_page(c, NULL, -n, NULL);
			break;
		}
		used += (size_t)n;
		c->close_after = !req.keep_alive;
		int r = answer(c, &req);
		if (r < 0)
			return r;
	}
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	if (used && c->in_len)
		c->head_ns = hv_now_ns(); /* the next pipelined head starts now */
	return 0;
}

/* Returns <0 when the connection is to be closed. */
static int on_io(ws_conn *c)
{
	int r;
	if (c->first < c->nchunks) {
		if ((r = flush(c)) <= 0)
			return r;
		if (c->close_after)
			return -ECONNRESET;
	}
	if (!c->in && !(c->in = malloc(IN_SIZE)))
		return -ENOMEM;
	if (c->in_len < IN_SIZE) {
		ssize_t n = read(c->fd, c->in + c->in_len, IN_SIZE - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -ECONNRESET;
		if (n > 0) {
			if (c->in_len == 0)
				c->head_ns = hv_now_ns();
			c->in_len += (size_t)n;
			c->active_ns = hv_now_ns();
		}
	}
	/* Answer; once the answers are out, the requests that waited behind
	 * them (pipelined past OUT_HIGH) are answered without a new event. */
	for (;;) {
		size_t before = c->in_len;
		if ((r = process(c)) < 0)
			return r;
		if (c->first < c->nchunks && (r = flush(c)) <= 0)
			return r;
		if (c->close_after)
			return -ECONNRESET;
		if (c->in_len == before || c->in_len == 0)
			return 0;
	}
}

static void conn_cb(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	ws_conn *c = userdata;
	if (on_io(c) < 0) {
		conn_free(c);
		return;
	}
	update_watch(c);
}

static void listen_pause(ws_worker *w, bool pause)
{
	if (w->paused == pause)
		return;
	w->paused = pause;
	for (int i = 0; i < w->nlisten; i++)
		hv_watch_set_events(w->listen[i], pause ? 0 : HV_IO_READ);
}

static void conn_free(ws_conn *c)
{
	ws_worker *w = c->w;
	while (c->first < c->nchunks)
		ws_file_unref(c->chunks[c->first++].file);
	hv_watch_free(c->watch);
	close(c->fd);
	free(c->in);
	free(c->out);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->nconns--;
	free(c);
	listen_pause(w, w->nconns >= (unsigned)w->cfg->max_connections);
}

static void peer_name(int fd, char *out, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	snprintf(out, size, "-");
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out, (socklen_t)size);
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, out, (socklen_t)size);
}

static void accept_cb(hv_loop *loop, int lfd, uint32_t events, void *userdata)
{
	ws_worker *w = userdata;
	for (int i = 0; i < 64 && w->nconns < (unsigned)w->cfg->max_connections; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE)
				hv_log_warn("accept: %m (raise LimitNOFILE or lower --max-connections)");
			return;
		}
		ws_conn *c = calloc(1, sizeof *c);
		if (!c || hv_loop_add_fd(loop, fd, HV_IO_READ, conn_cb, c, &c->watch) < 0) {
			free(c);
			close(fd);
			return;
		}
		c->w = w;
		c->fd = fd;
		c->active_ns = hv_now_ns();
		if (!w->cfg->no_access_log)
			peer_name(fd, c->peer, sizeof c->peer);
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		w->nconns++;
	}
	listen_pause(w, w->nconns >= (unsigned)w->cfg->max_connections);
}

/* A connection idle on keep-alive keeps no buffer: 10,000 of them cost
 * their struct, not 10,000 input buffers. */
static void idle_trim(ws_conn *c)
{
	free(c->in);
	free(c->out);
	c->in = c->out = NULL;
	c->out_cap = c->out_len = 0;
}

/* Once a second: end slow heads (slowloris), idle keep-alive connections
 * and clients that stopped reading; flush the access log. */
static void tick_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ws_worker *w = userdata;
	uint64_t now = hv_now_ns(), s = 1000000000ull;
	for (ws_conn *c = w->conns, *next; c; c = next) {
		next = c->next;
		bool sending = c->first < c->nchunks;
		if ((sending && now - c->active_ns > (uint64_t)w->cfg->send_s * s) ||
		    (!sending && c->in_len && now - c->head_ns > (uint64_t)w->cfg->header_s * s) ||
		    (!sending && !c->in_len && now - c->active_ns > (uint64_t)w->cfg->keepalive_s * s))
			conn_free(c);
		else if (!sending && !c->in_len && now - c->active_ns > s)
			idle_trim(c);
	}
	log_flush(w);
}

int ws_worker_new(hv_loop *loop, ws_root *root, const ws_config *cfg, const int *fds, int n,
		  ws_worker **out)
{
	ws_worker *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	*out = w;
	w->loop = loop;
	w->root = root;
	w->cfg = cfg;
	w->log_cap = ACCESS_LOG_FLUSH;
	w->log = malloc(w->log_cap);
	if (!w->log)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->headers.n; i++)
		snprintf(w->headers + strlen(w->headers), sizeof w->headers - strlen(w->headers),
			 "%s\r\n", cfg->headers.v[i]);
	for (int i = 0; i < n && i < (int)HV_ARRAY_SIZE(w->listen); i++) {
		int r = hv_loop_add_fd(loop, fds[i], HV_IO_READ, accept_cb, w, &w->listen[w->nlisten]);
		if (r < 0)
			return r;
		w->nlisten++;
	}
	return hv_loop_add_timer(loop, 1000000000ull, 1000000000ull, tick_cb, w, &w->tick);
}

void ws_worker_free(ws_worker *w)
{
	if (!w)
		return;
	while (w->conns)
		conn_free(w->conns);
	log_flush(w);
	for (int i = 0; i < w->nlisten; i++)
		hv_watch_free(w->listen[i]);
	hv_timer_free(w->tick);
	free(w->log);
	free(w);
}
