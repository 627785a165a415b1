/* headers.h — the few bytes of a response RequestServer reads itself (the
 * rest is libcurl's): a header line handed to CURLOPT_HEADERFUNCTION split
 * into what the client's headers_received event carries. Pure functions
 * over (pointer, length), fuzzed by fuzz/RequestServer. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The span of a line without its CR/LF ending. */
size_t rqs_line_length(const char *line, size_t len);
/* An "HTTP/x yyy reason" status line: true, with the reason (possibly
 * empty) as a span inside line. */
bool rqs_status_line(const char *line, size_t len, const char **reason, size_t *reason_len);
/* "Name: value": true, name up to the first colon, value without the
 * blanks around it; false for a line with no colon (an obsolete fold). */
bool rqs_header_split(const char *line, size_t len, size_t *name_len, const char **value, size_t *value_len);
/* A Gemini response header without its CRLF, "NN META" or "NN": the status
 * (10..69) and meta (a span inside line, possibly empty, no control
 * character but TAB); false for anything else. */
bool rqs_gemini_header(const char *line, size_t len, unsigned *status, const char **meta, size_t *meta_len);
