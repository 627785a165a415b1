/* http.h — the HTTP/1.1 request parser and the Range parser: pure
 * functions over bytes from the network (fuzzed by fuzz/WebServer), no I/O.
 *
 * A request head is parsed once it is complete (CRLF CRLF); the parser
 * returns how many bytes it took, so pipelined requests follow in the
 * same buffer. The target is percent-decoded and its dot segments removed
 * here, before any file is looked at: what leaves this file is a clean
 * absolute path with no "." or ".." segment, no NUL and no "//". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Limits (answered with the status in parentheses). */
#define WS_MAX_REQUEST_LINE 4096 /* (414) method, target and version */
#define WS_MAX_HEAD 8192	 /* (431) request line and headers together */
#define WS_MAX_HEADERS 100	 /* (431) header fields */
#define WS_MAX_RANGES 32	 /* more ranges than this: the whole file (200) */

enum ws_method { WS_GET = 1, WS_HEAD, WS_OTHER_KNOWN, WS_UNKNOWN };

/* A header's value: a view into the buffer given to ws_parse_request. */
typedef struct ws_str {
	const char *p;
	size_t n;
} ws_str;

typedef struct ws_request {
	enum ws_method method;
	ws_str method_name, target; /* as sent (the log) */
	int minor;		    /* HTTP/1.minor */
	char path[WS_MAX_REQUEST_LINE]; /* decoded, normalised: "/", "/a/b", "/dir/" */
	bool keep_alive;
	bool has_body; /* Content-Length > 0 or Transfer-Encoding */
	ws_str host, range, if_none_match, if_modified_since, if_range, if_match,
		if_unmodified_since, accept_encoding, referer, user_agent;
} ws_request;

/* Parse one request head at buf. >0: its length (the head is in req);
 * 0: incomplete, read more; <0: -STATUS to answer before closing
 * (-400 malformed, -414 request line too long, -431 head too long or too
 * many fields, -505 not HTTP/1.x). */
int ws_parse_request(const char *buf, size_t len, ws_request *req);

/* Percent-decode target's path (query and fragment dropped, absolute-form
 * "http://host/p" accepted) into out (size bytes) and remove dot segments.
 * -400 for a bad escape, %00, a control byte, ".." above the root or a
 * target that is not a path. */
int ws_normalize_target(const char *target, size_t len, char *out, size_t size);

typedef struct ws_range {
	uint64_t first, last; /* inclusive */
} ws_range;

/* Parse a Range value for a file of size bytes (RFC 9110 14.1.2): the
 * number of satisfiable ranges put in out (max entries, ends clamped to the
 * file), 0 when the header is to be ignored (not "bytes=", more than max
 * ranges, or ranges adding up to more than the file), -416 when no range
 * is satisfiable or the syntax is bad. */
int ws_parse_range(const char *v, size_t len, uint64_t size, ws_range *out, int max);

/* An HTTP date (IMF-fixdate, RFC 850, asctime) -> time; -1 if none. */
time_t ws_parse_date(const char *v, size_t len);
/* time -> IMF-fixdate (30 bytes with the NUL). */
void ws_format_date(time_t t, char out[30]);

/* Whether an If-None-Match / If-Match list names etag ("*" matches any).
 * weak: weak comparison (If-None-Match), else strong (If-Match). */
bool ws_etag_matches(ws_str list, const char *etag, bool weak);

/* Whether Accept-Encoding accepts coding ("gzip", "br", "zstd") with q > 0. */
bool ws_accepts_encoding(ws_str accept, const char *coding);
