/* headers.c — see headers.h. */
#include <string.h>

#include "headers.h"

size_t rqs_line_length(const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return len;
}

bool rqs_status_line(const char *line, size_t len, const char **reason, size_t *reason_len)
{
	if (len < 5 || memcmp(line, "HTTP/", 5))
		return false;
	const char *end = line + len;
	const char *sp = memchr(line, ' ', len);
	const char *sp2 = sp ? memchr(sp + 1, ' ', (size_t)(end - sp - 1)) : NULL;
	*reason = sp2 ? sp2 + 1 : end;
	*reason_len = (size_t)(end - *reason);
	return true;
}

bool rqs_header_split(const char *line, size_t len, size_t *name_len, const char **value, size_t *value_len)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return false;
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*name_len = (size_t)(colon - line);
	*value = v;
	*value_len = (size_t)(end - v);
	return true;
}

bool rqs_gemini_header(const char *line, size_t len, unsigned *status, const char **meta, size_t *meta_len)
{
	if (len < 2 || line[0] < '1' || line[0] > '6' || line[1] < '0' || line[1] > '9' ||
	    (len > 2 && line[2] != ' '))
		return false;
	*status = (unsigned)(line[0] - '0') * 10 + (unsigned)(line[1] - '0');
	*meta = line + (len > 2 ? 3 : 2);
	*meta_len = len > 2 ? len - 3 : 0;
	for (size_t i = 0; i < *meta_len; i++)
		if ((unsigned char)(*meta)[i] < 0x20 && (*meta)[i] != '\t')
			return false;
	return true;
}
