/* http.c — request head, target, Range, dates and entity tags (http.h).
 *
 * Everything here reads bytes a client sent: bounds are checked by length,
 * never by a terminating NUL, and the fuzz target drives every function. */
#include "http.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool str_eq(ws_str s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

static ws_str trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return (ws_str){ p, n };
}

/* One line from p (at most end): its length without CR LF in *len; the
 * pointer after its LF, or NULL if the line is not complete. */
static const char *next_line(const char *p, const char *end, size_t *len)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	if (!lf)
		return NULL;
	*len = (size_t)(lf - p) - (lf > p && lf[-1] == '\r');
	return lf + 1;
}

static int hexval(unsigned char c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Append segment seg (n bytes) to out, or pop one for "..". */
static int add_segment(char *out, size_t *o, size_t size, const char *seg, size_t n)
{
	if (n == 0 || (n == 1 && seg[0] == '.'))
		return 0;
	if (n == 2 && seg[0] == '.' && seg[1] == '.') {
		if (*o == 0)
			return -400; /* above the root */
		while (*o > 0 && out[*o - 1] != '/')
			(*o)--;
		(*o)--; /* the slash */
		return 0;
	}
	if (*o + 1 + n + 2 > size)
		return -400;
	out[(*o)++] = '/';
	memcpy(out + *o, seg, n);
	*o += n;
	return 0;
}

int ws_normalize_target(const char *t, size_t len, char *out, size_t size)
{
	size_t skip = len >= 7 && strncasecmp(t, "http://", 7) == 0	 ? 7
		      : len >= 8 && strncasecmp(t, "https://", 8) == 0 ? 8
								       : 0;
	if (skip) { /* absolute-form: the authority is not a path */
		const char *slash = memchr(t + skip, '/', len - skip);
		size_t rest = slash ? len - (size_t)(slash - t) : 0;
		t = slash ? slash : "/";
		len = slash ? rest : 1;
	}
	if (len == 0 || t[0] != '/' || size < 2)
		return -400;
	/* Decode first: %2e%2e is "..", %2f is "/" (as nginx), so dot
	 * segments are removed from what the file system would see. */
	char dec[WS_MAX_REQUEST_LINE];
	size_t d = 0;
	for (size_t i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '%') {
			int hi = i + 2 < len ? hexval((unsigned char)t[i + 1]) : -1;
			int lo = hi >= 0 ? hexval((unsigned char)t[i + 2]) : -1;
			if (lo < 0)
				return -400;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || d + 1 >= sizeof dec)
			return -400; /* NUL and control bytes never name a file */
		dec[d++] = (char)c;
	}
	size_t o = 0, start = 0;
	bool dir = false;
	for (size_t i = 0; i <= d; i++) {
		if (i < d && dec[i] != '/')
			continue;
		size_t n = i - start;
		const char *seg = dec + start;
		int r = add_segment(out, &o, size, seg, n);
		if (r < 0)
			return r;
		dir = n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.');
		start = i + 1;
	}
	if (o == 0 || dir)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

static enum ws_method method_of(ws_str m)
{
	static const char *const other[] = { "POST", "PUT",   "DELETE", "OPTIONS",
					     "PATCH", "TRACE", "CONNECT" };
	if (m.n == 3 && memcmp(m.p, "GET", 3) == 0)
		return WS_GET;
	if (m.n == 4 && memcmp(m.p, "HEAD", 4) == 0)
		return WS_HEAD;
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		if (m.n == strlen(other[i]) && memcmp(m.p, other[i], m.n) == 0)
			return WS_OTHER_KNOWN;
	return WS_UNKNOWN;
}

/* "METHOD SP TARGET SP HTTP/1.x" */
static int parse_request_line(const char *p, size_t n, ws_request *req)
{
	const char *sp1 = memchr(p, ' ', n);
	if (!sp1 || sp1 == p)
		return -400;
	const char *rest = sp1 + 1, *end = p + n;
	const char *sp2 = memchr(rest, ' ', (size_t)(end - rest));
	if (!sp2 || sp2 == rest || end - sp2 - 1 != 8)
		return -400;
	req->method_name = (ws_str){ p, (size_t)(sp1 - p) };
	for (size_t i = 0; i < req->method_name.n; i++)
		if (!is_tchar((unsigned char)p[i]))
			return -400;
	req->method = method_of(req->method_name);
	req->target = (ws_str){ rest, (size_t)(sp2 - rest) };
	for (size_t i = 0; i < req->target.n; i++)
		if ((unsigned char)rest[i] <= 0x20 || rest[i] == 0x7f)
			return -400;
	const char *v = sp2 + 1;
	if (memcmp(v, "HTTP/", 5) != 0 || !isdigit((unsigned char)v[5]) || v[6] != '.' ||
	    !isdigit((unsigned char)v[7]))
		return -400;
	if (v[5] != '1')
		return -505;
	req->minor = v[7] - '0';
	req->keep_alive = req->minor >= 1;
	return ws_normalize_target(req->target.p, req->target.n, req->path, sizeof req->path);
}

/* Connection: a list of tokens; close and keep-alive matter. */
static void parse_connection(ws_str v, ws_request *req)
{
	size_t i = 0;
	while (i < v.n) {
		size_t j = i;
		while (j < v.n && v.p[j] != ',')
			j++;
		ws_str tok = trim(v.p + i, j - i);
		if (str_eq(tok, "close"))
			req->keep_alive = false;
		else if (str_eq(tok, "keep-alive") && req->minor == 0)
			req->keep_alive = true;
		i = j + 1;
	}
}

static int parse_header(ws_str name, ws_str v, ws_request *req, bool *have_cl)
{
	static const struct {
		const char *name;
		size_t off;
	} views[] = {
		{ "Host", offsetof(ws_request, host) },
		{ "Range", offsetof(ws_request, range) },
		{ "If-None-Match", offsetof(ws_request, if_none_match) },
		{ "If-Modified-Since", offsetof(ws_request, if_modified_since) },
		{ "If-Range", offsetof(ws_request, if_range) },
		{ "If-Match", offsetof(ws_request, if_match) },
		{ "If-Unmodified-Since", offsetof(ws_request, if_unmodified_since) },
		{ "Accept-Encoding", offsetof(ws_request, accept_encoding) },
		{ "Referer", offsetof(ws_request, referer) },
		{ "User-Agent", offsetof(ws_request, user_agent) },
	};
	for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
		if (!str_eq(name, views[i].name))
			continue;
		ws_str *dst = (ws_str *)((char *)req + views[i].off);
		if (dst->p && views[i].off == offsetof(ws_request, host))
			return -400; /* two Hosts: which one? */
		*dst = v;
		return 0;
	}
	if (str_eq(name, "Connection")) {
		parse_connection(v, req);
	} else if (str_eq(name, "Content-Length")) {
		if (v.n == 0 || v.n > 18 || strspn(v.p, "0123456789") < v.n || *have_cl)
			return -400; /* no smuggling through two lengths */
		*have_cl = true;
		req->has_body |= strspn(v.p, "0") < v.n;
	} else if (str_eq(name, "Transfer-Encoding")) {
		req->has_body = true;
	}
	return 0;
}

/* Where the head ends (after its empty line), or NULL. */
static const char *find_head_end(const char *p, const char *end)
{
	size_t n;
	const char *next;
	while ((next = next_line(p, end, &n))) {
		if (n == 0)
			return next;
		p = next;
	}
	return NULL;
}

int ws_parse_request(const char *buf, size_t len, ws_request *req)
{
	const char *p = buf, *end = buf + len;
	while (p < end && (*p == '\r' || *p == '\n')) /* RFC 9112 2.2: CRLFs before */
		p++;
	size_t n;
	const char *next = next_line(p, end, &n);
	if (!next)
		return (size_t)(end - p) > WS_MAX_REQUEST_LINE ? -414 : 0;
	if (n > WS_MAX_REQUEST_LINE)
		return -414;
	const char *head_end = find_head_end(next, end);
	if (!head_end)
		return len > WS_MAX_HEAD ? -431 : 0;
	if (head_end - buf > WS_MAX_HEAD)
		return -431;
	/* Everything but the path buffer, which the target fills. */
	memset(req, 0, offsetof(ws_request, path));
	memset(&req->keep_alive, 0, sizeof *req - offsetof(ws_request, keep_alive));
	int r = parse_request_line(p, n, req);
	if (r < 0)
		return r;
	bool have_cl = false;
	unsigned fields = 0;
	for (p = next; (next = next_line(p, head_end, &n)) && n > 0; p = next) {
		if (++fields > WS_MAX_HEADERS)
			return -431;
		const char *colon = memchr(p, ':', n);
		if (!colon || colon == p || p[0] == ' ' || p[0] == '\t')
			return -400; /* no name, or obsolete line folding */
		ws_str name = { p, (size_t)(colon - p) };
		for (size_t i = 0; i < name.n; i++)
			if (!is_tchar((unsigned char)name.p[i]))
				return -400;
		for (const char *c = colon + 1; c < p + n; c++)
			if ((unsigned char)*c < 0x20 && *c != '\t')
				return -400;
		if ((r = parse_header(name, trim(colon + 1, n - name.n - 1), req, &have_cl)) < 0)
			return r;
	}
	if (req->minor >= 1 && !req->host.p)
		return -400;
	return (int)(head_end - buf);
}

/* A decimal number of at most 18 digits at *p (advanced); -1 if none. */
static int64_t number(const char **p, const char *end)
{
	int64_t v = 0;
	const char *s = *p;
	while (*p < end && isdigit((unsigned char)**p) && *p - s < 18)
		v = v * 10 + (**p - '0'), (*p)++;
	if (*p == s || (*p < end && isdigit((unsigned char)**p)))
		return -1;
	return v;
}

/* One "a-b", "a-" or "-n": 1 and *out when satisfiable, 0 when not,
 * -416 for bad syntax (as nginx). */
static int one_range(const char *p, const char *end, uint64_t size, ws_range *out)
{
	int64_t a = -1, b = -1;
	if (p < end && *p != '-' && (a = number(&p, end)) < 0)
		return -416;
	if (p >= end || *p++ != '-')
		return -416;
	if (p < end && (b = number(&p, end)) < 0)
		return -416;
	if (p != end || (a < 0 && b < 0))
		return -416;
	if (a < 0) { /* the last b bytes */
		if (b == 0 || size == 0)
			return 0;
		*out = (ws_range){ (uint64_t)b >= size ? 0 : size - (uint64_t)b, size - 1 };
		return 1;
	}
	if (b >= 0 && a > b)
		return -416;
	if ((uint64_t)a >= size)
		return 0;
	*out = (ws_range){ (uint64_t)a, b < 0 || (uint64_t)b >= size ? size - 1 : (uint64_t)b };
	return 1;
}

int ws_parse_range(const char *v, size_t len, uint64_t size, ws_range *out, int max)
{
	ws_str s = trim(v, len);
	if (s.n < 6 || strncasecmp(s.p, "bytes=", 6) != 0)
		return 0;
	const char *p = s.p + 6, *end = s.p + s.n;
	int n = 0;
	uint64_t total = 0;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end;
		ws_str spec = trim(p, (size_t)(stop - p));
		p = stop + 1;
		if (spec.n == 0 && comma)
			continue; /* "a-b, , c-d": empty elements are allowed */
		ws_range r;
		int k = one_range(spec.p, spec.p + spec.n, size, &r);
		if (k < 0)
			return k;
		if (k == 0)
			continue;
		if (n == max)
			return 0;
		out[n++] = r;
		total += r.last - r.first + 1;
	}
	if (n == 0)
		return -416;
	return total > size ? 0 : n;
}

time_t ws_parse_date(const char *v, size_t len)
{
	static const char *const formats[] = { "%a, %d %b %Y %H:%M:%S GMT",
					       "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y" };
	char buf[64];
	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct tm tm = { 0 };
		const char *e = strptime(buf, formats[i], &tm);
		if (e && *e == '\0')
			return timegm(&tm);
	}
	return -1;
}

void ws_format_date(time_t t, char out[30])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

bool ws_etag_matches(ws_str list, const char *etag, bool weak)
{
	bool etag_weak = strncmp(etag, "W/", 2) == 0;
	const char *opaque = etag + (etag_weak ? 2 : 0);
	size_t i = 0;
	while (i < list.n) {
		size_t j = i;
		while (j < list.n && list.p[j] != ',')
			j++;
		ws_str tag = trim(list.p + i, j - i);
		i = j + 1;
		if (tag.n == 1 && tag.p[0] == '*')
			return true;
		bool tag_weak = tag.n >= 2 && tag.p[0] == 'W' && tag.p[1] == '/';
		if (tag_weak)
			tag.p += 2, tag.n -= 2;
		if ((tag_weak || etag_weak) && !weak)
			continue;
		if (tag.n == strlen(opaque) && memcmp(tag.p, opaque, tag.n) == 0)
			return true;
	}
	return false;
}

bool ws_accepts_encoding(ws_str accept, const char *coding)
{
	size_t i = 0;
	bool star = false;
	while (i < accept.n) {
		size_t j = i;
		while (j < accept.n && accept.p[j] != ',')
			j++;
		ws_str item = trim(accept.p + i, j - i);
		i = j + 1;
		const char *semi = memchr(item.p, ';', item.n);
		ws_str name = trim(item.p, semi ? (size_t)(semi - item.p) : item.n);
		bool zero = false;
		if (semi) { /* q=0, q=0.0, q=0.000: not acceptable */
			ws_str q = trim(semi + 1, item.n - (size_t)(semi + 1 - item.p));
			zero = q.n >= 3 && strncasecmp(q.p, "q=", 2) == 0 &&
			       strspn(q.p + 2, "0.") >= q.n - 2;
		}
		if (str_eq(name, coding))
			return !zero;
		if (str_eq(name, "*"))
			star = !zero;
	}
	return star;
}
