/* fuzz-webserver-request — WebServer's parsers of what a client sends
 * (http.c): the request head (pipelined: parsed again after what one head
 * took), the target's decoding and dot segments, the Range header for a
 * file size taken from the input, dates, entity tags, Accept-Encoding.
 * Invariants: a head length within the input; a path that starts with '/'
 * and holds no NUL, no "//", no "." or ".." segment; ranges inside the file,
 * ordered first <= last. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	size_t n = strlen(p);
	if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") || strstr(p, "/../"))
		abort();
	if ((n >= 2 && strcmp(p + n - 2, "/.") == 0) || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
		abort();
}

static void check_ranges(const char *v, size_t len, uint64_t size)
{
	ws_range r[WS_MAX_RANGES];
	int n = ws_parse_range(v, len, size, r, WS_MAX_RANGES);
	if (n < -416 || (n < 0 && n != -416) || n > WS_MAX_RANGES)
		abort();
	for (int i = 0; i < n; i++)
		if (r[i].first > r[i].last || r[i].last >= size)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint64_t file_size = (uint64_t)data[0] << 8 | data[1];
	const char *buf = (const char *)data + 2;
	size_t len = size - 2;
	check_ranges(buf, len, file_size);
	ws_parse_date(buf, len);
	static ws_request req;
	for (size_t off = 0; off < len;) {
		int n = ws_parse_request(buf + off, len - off, &req);
		if (n <= 0)
			break;
		if ((size_t)n > len - off)
			abort();
		check_path(req.path);
		if (req.range.p)
			check_ranges(req.range.p, req.range.n, file_size);
		if (req.if_none_match.p)
			ws_etag_matches(req.if_none_match, "\"5f-400\"", true);
		if (req.accept_encoding.p)
			ws_accepts_encoding(req.accept_encoding, "gzip");
		off += (size_t)n;
	}
	char path[WS_MAX_REQUEST_LINE];
	if (ws_normalize_target(buf, len < sizeof path ? len : sizeof path - 1, path, sizeof path) == 0)
		check_path(path);
	return 0;
}
