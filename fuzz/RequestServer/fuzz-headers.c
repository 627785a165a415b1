/* fuzz-requestserver-headers — the response lines RequestServer reads
 * itself (services/RequestServer/headers.c): every line of the input, as
 * libcurl would hand it to the header callback, goes through the CR/LF
 * trim, the status-line reason, the header split and the Gemini header
 * parse (gemini.c reads that one itself too). Spans must stay
 * inside the line, a value must not start or end with a blank, a name
 * must not hold a colon. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t len)
{
	size_t l = rqs_line_length(line, len);
	if (l > len)
		abort();
	const char *reason, *value;
	size_t rlen, nlen, vlen;
	if (rqs_status_line(line, l, &reason, &rlen) &&
	    (reason < line || reason + rlen != line + l))
		abort();
	if (rqs_header_split(line, l, &nlen, &value, &vlen)) {
		if (nlen >= l || memchr(line, ':', nlen) || value < line + nlen + 1 || value + vlen > line + l)
			abort();
		if (vlen && (value[0] == ' ' || value[0] == '\t' || value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
			abort();
	}
	unsigned status;
	const char *meta;
	size_t mlen;
	if (rqs_gemini_header(line, l, &status, &meta, &mlen) &&
	    (status < 10 || status > 69 || meta < line || meta + mlen != line + l))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: reads past a line show up in ASan. */
	char *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	size_t start = 0;
	for (size_t i = 0; i <= size; i++)
		if (i == size || buf[i] == '\n') {
			size_t end = i < size ? i + 1 : i;
			check_line(buf + start, end - start);
			start = end;
		}
	free(buf);
	return 0;
}
