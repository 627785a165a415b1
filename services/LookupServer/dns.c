/* dns.c — name checks, reverse names and rdata presentation (dns.h).
 * Every reader of wire data here is bounded by the length it was given:
 * the fuzz target fuzz/LookupServer runs lks_rdata_format on anything. */
#include "dns.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int lks_name_check(const char *name, char *out, const char **why)
{
	size_t len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		len--;
	*why = NULL;
	if (len == 0 || (len == 1 && name[0] == '.'))
		*why = "empty name";
	else if (len > LKS_NAME_MAX)
		*why = "name longer than 253 bytes";
	if (*why)
		return -EINVAL;
	size_t label = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch == '.') {
			if (label == 0) {
				*why = "empty label";
				return -EINVAL;
			}
			label = 0;
		} else if (ch <= ' ' || ch == 0x7f || ch == '\\') {
			*why = "a control character, space or backslash in the name";
			return -EINVAL;
		} else if (++label > LKS_LABEL_MAX) {
			*why = "label longer than 63 bytes";
			return -EINVAL;
		}
		out[i] = (char)tolower(ch);
	}
	out[len] = '.';
	out[len + 1] = '\0';
	return 0;
}

int lks_reverse_name(const char *text, char *out)
{
	unsigned char a[16];
	if (inet_pton(AF_INET, text, a) == 1) {
		snprintf(out, LKS_REVERSE_NAME_SIZE, "%u.%u.%u.%u.in-addr.arpa.", a[3], a[2], a[1], a[0]);
		return 0;
	}
	if (inet_pton(AF_INET6, text, a) != 1)
		return -EINVAL;
	static const char hex[] = "0123456789abcdef";
	char *p = out;
	for (int i = 15; i >= 0; i--) {
		*p++ = hex[a[i] & 15];
		*p++ = '.';
		*p++ = hex[a[i] >> 4];
		*p++ = '.';
	}
	strcpy(p, "ip6.arpa.");
	return 0;
}

/* A bounded writer: the value never overflows out; a record whose form
 * would not fit is malformed for our purposes. */
struct wr {
	char *buf;
	size_t len;
	bool full;
};

__attribute__((format(printf, 2, 3))) static void put(struct wr *w, const char *fmt, ...)
{
	if (w->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->buf + w->len, LKS_VALUE_MAX - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= LKS_VALUE_MAX - w->len)
		w->full = true;
	else
		w->len += (size_t)n;
}

/* An uncompressed wire name at *pos; advances *pos. */
static int put_name(struct wr *w, const uint8_t *d, size_t len, size_t *pos)
{
	size_t total = 0;
	for (;;) {
		if (*pos >= len)
			return -EBADMSG;
		uint8_t l = d[(*pos)++];
		if (l == 0)
			break;
		/* Compression pointers (0xc0) never appear in unbound's rdata. */
		if (l > LKS_LABEL_MAX || l > len - *pos || (total += l + 1u) > 255)
			return -EBADMSG;
		for (size_t i = 0; i < l; i++) {
			unsigned char ch = d[*pos + i];
			if (ch == '.' || ch == '\\' || ch == '"' || ch <= ' ' || ch >= 0x7f)
				put(w, ch > ' ' && ch < 0x7f ? "\\%c" : "\\%03u", ch);
			else
				put(w, "%c", ch);
		}
		put(w, ".");
		*pos += l;
	}
	if (total == 0)
		put(w, ".");
	return 0;
}

/* A <character-string> (TXT, CAA value): quoted, escaped. */
static void put_bytes_quoted(struct wr *w, const uint8_t *s, size_t n)
{
	put(w, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = s[i];
		if (ch == '"' || ch == '\\')
			put(w, "\\%c", ch);
		else if (ch < ' ' || ch >= 0x7f)
			put(w, "\\%03u", ch);
		else
			put(w, "%c", ch);
	}
	put(w, "\"");
}

static uint16_t u16at(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t u32at(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int format_known(uint16_t type, const uint8_t *d, size_t len, struct wr *w, size_t *pos)
{
	char addr[INET6_ADDRSTRLEN];
	int r = 0;
	switch (type) {
	case 1: /* A */
	case 28: /* AAAA */
		if (len != (type == 1 ? 4u : 16u))
			return -EBADMSG;
		inet_ntop(type == 1 ? AF_INET : AF_INET6, d, addr, sizeof(addr));
		put(w, "%s", addr);
		*pos = len;
		return 0;
	case 2: case 5: case 12: /* NS, CNAME, PTR */
		return put_name(w, d, len, pos);
	case 15: /* MX */
		if (len < 3)
			return -EBADMSG;
		put(w, "%u ", u16at(d));
		*pos = 2;
		return put_name(w, d, len, pos);
	case 33: /* SRV */
		if (len < 7)
			return -EBADMSG;
		put(w, "%u %u %u ", u16at(d), u16at(d + 2), u16at(d + 4));
		*pos = 6;
		return put_name(w, d, len, pos);
	case 6: /* SOA */
		if ((r = put_name(w, d, len, pos)) < 0)
			return r;
		put(w, " ");
		if ((r = put_name(w, d, len, pos)) < 0 || len - *pos != 20)
			return r < 0 ? r : -EBADMSG;
		for (int i = 0; i < 5; i++)
			put(w, " %u", u32at(d + *pos + 4 * i));
		*pos = len;
		return 0;
	case 16: /* TXT: one or more <character-string>s */
		if (len == 0)
			return -EBADMSG;
		for (bool first = true; *pos < len; first = false) {
			size_t n = d[(*pos)++];
			if (n > len - *pos)
				return -EBADMSG;
			put(w, "%s", first ? "" : " ");
			put_bytes_quoted(w, d + *pos, n);
			*pos += n;
		}
		return 0;
	case 257: { /* CAA: flags, tag length, tag, value */
		if (len < 2)
			return -EBADMSG;
		size_t tl = d[1];
		if (tl == 0 || tl > len - 2)
			return -EBADMSG;
		put(w, "%u %.*s ", d[0], (int)tl, (const char *)d + 2);
		put_bytes_quoted(w, d + 2 + tl, len - 2 - tl);
		*pos = len;
		return 0;
	}
	}
	return 1;
}

int lks_rdata_format(uint16_t type, const uint8_t *rdata, size_t len, char *out)
{
	struct wr w = {.buf = out};
	out[0] = '\0';
	size_t pos = 0;
	int r = format_known(type, rdata, len, &w, &pos);
	if (r < 0)
		return r;
	if (r > 0) { /* unknown type: RFC 3597 */
		put(&w, "\\# %zu ", len);
		for (size_t i = 0; i < len; i++)
			put(&w, "%02x", rdata[i]);
		pos = len;
	}
	if (pos != len || w.full)
		return -EBADMSG;
	return 0;
}
