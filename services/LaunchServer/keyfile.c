/* keyfile.c — the freedesktop key-file syntax (see keyfile.h for why this
 * is not inih): lines, groups, keys with locales, escapes, lists. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "keyfile.h"

/* Keys seen in the current group, to refuse duplicates (a linear scan:
 * desktop entries have tens of keys). Groups seen likewise. */
struct seen {
	hv_strv keys, groups;
};

static int fail(char *err, size_t size, const char *file, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(char *err, size_t size, const char *file, unsigned line, const char *fmt, ...)
{
	if (err && size) {
		int n = snprintf(err, size, "%s:%u: ", file ? file : "<input>", line);
		va_list ap;
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < size)
			vsnprintf(err + n, size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool key_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

/* "[Group Name]": any printable ASCII but '[' and ']' (spec). */
static bool group_name_ok(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '[' || s[i] == ']')
			return false;
	return true;
}

/* "Key" or "Key[locale]": splits into key_out/locale_out (NUL-terminated
 * in place); false when malformed. */
static bool split_key(char *k, char **locale_out, unsigned flags)
{
	*locale_out = NULL;
	char *p = k;
	while (key_char(*p) || ((flags & LCH_KEYFILE_MIME_KEYS) && *p && strchr("/.+_", *p)))
		p++;
	if (p == k)
		return false;
	if (!*p)
		return true;
	if (*p != '[')
		return false;
	*p++ = '\0';
	char *loc = p;
	while (*p && *p != ']') {
		/* lang_COUNTRY.ENCODING@MODIFIER */
		if (!key_char(*p) && *p != '_' && *p != '.' && *p != '@')
			return false;
		p++;
	}
	if (*p != ']' || p[1] || p == loc)
		return false;
	*p = '\0';
	*locale_out = loc;
	return true;
}

struct ctx {
	const char *file;
	unsigned flags;
	lch_keyfile_cb cb;
	void *ud;
	char *err;
	size_t esz;
};

static int parse_line(char *s, unsigned line, const struct ctx *c, char **group, struct seen *seen)
{
	if (!*s || *s == '#')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end || end[1] || !group_name_ok(s + 1, (size_t)(end - s - 1)))
			return fail(c->err, c->esz, c->file, line, "malformed group header");
		*end = '\0';
		if (hv_strv_contains(&seen->groups, s + 1))
			return fail(c->err, c->esz, c->file, line, "group [%s] appears twice",
				    s + 1);
		hv_strv_clear(&seen->keys);
		if (hv_strv_push(&seen->groups, s + 1) < 0)
			return -ENOMEM;
		*group = seen->groups.v[seen->groups.n - 1];
		return 0;
	}
	char *eq = strchr(s, '=');
	if (!eq)
		return fail(c->err, c->esz, c->file, line,
			    "neither a group, a key=value nor a comment");
	if (!*group)
		return fail(c->err, c->esz, c->file, line, "a key before the first group");
	char *kend = eq;
	while (kend > s && (kend[-1] == ' ' || kend[-1] == '\t'))
		kend--;
	*kend = '\0';
	char *value = eq + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (hv_strv_contains(&seen->keys, s))
		return fail(c->err, c->esz, c->file, line, "key %s appears twice in [%s]", s,
			    *group);
	if (hv_strv_push(&seen->keys, s) < 0)
		return -ENOMEM;
	char *locale;
	if (!split_key(s, &locale, c->flags))
		return fail(c->err, c->esz, c->file, line, "malformed key '%s'",
			    seen->keys.v[seen->keys.n - 1]);
	int r = c->cb(*group, s, locale, value, line, c->ud);
	if (r < 0 && r != -ENOMEM)
		return fail(c->err, c->esz, c->file, line, "%s", strerror(-r));
	return r;
}

int lch_keyfile_parse(const char *text, size_t len, const char *file, unsigned flags,
		      lch_keyfile_cb cb, void *userdata, char *err, size_t err_size)
{
	const struct ctx c = {file, flags, cb, userdata, err, err_size};
	if (err && err_size)
		err[0] = '\0';
	if (memchr(text, '\0', len))
		return fail(err, err_size, file, 1, "a NUL byte in the file");
	if (!hv_utf8_valid(text, len)) {
		/* Find the line for the message. */
		unsigned line = 1;
		for (size_t i = 0; i < len; i++) {
			size_t e = i;
			while (e < len && text[e] != '\n')
				e++;
			if (!hv_utf8_valid(text + i, e - i))
				return fail(err, err_size, file, line, "invalid UTF-8");
			i = e;
			line++;
		}
		return fail(err, err_size, file, line, "invalid UTF-8");
	}
	_hv_free_ char *copy = malloc(len + 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, text, len);
	copy[len] = '\0';
	struct seen seen = {0};
	char *group = NULL;
	unsigned line = 0;
	int r = 0;
	for (char *s = copy, *next; s && r >= 0; s = next) {
		line++;
		next = strchr(s, '\n');
		if (next)
			*next++ = '\0';
		size_t n = strlen(s);
		if (n && s[n - 1] == '\r')
			s[n - 1] = '\0';
		if (!next && !*s)
			break;
		r = parse_line(s, line, &c, &group, &seen);
	}
	hv_strv_clear(&seen.keys);
	hv_strv_clear(&seen.groups);
	return r;
}

/* Resolve escapes of s[0..n) into out (room for n + 1); list: also "\;". */
static int unescape_into(const char *s, size_t n, char *out, bool list)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[o++] = s[i];
			continue;
		}
		if (++i >= n)
			return -EINVAL;
		switch (s[i]) {
		case 's':
			out[o++] = ' ';
			break;
		case 'n':
			out[o++] = '\n';
			break;
		case 't':
			out[o++] = '\t';
			break;
		case 'r':
			out[o++] = '\r';
			break;
		case '\\':
			out[o++] = '\\';
			break;
		case ';':
			if (!list)
				return -EINVAL;
			out[o++] = ';';
			break;
		default:
			return -EINVAL;
		}
	}
	out[o] = '\0';
	return 0;
}

int lch_keyfile_unescape(const char *value, char **out)
{
	size_t n = strlen(value);
	_hv_free_ char *s = malloc(n + 1);
	if (!s)
		return -ENOMEM;
	int r = unescape_into(value, n, s, false);
	if (r < 0)
		return r;
	*out = HV_TAKE_PTR(s);
	return 0;
}

int lch_keyfile_split_list(const char *value, hv_strv *out)
{
	size_t n = strlen(value);
	_hv_free_ char *buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && value[i] == '\\') {
			if (i + 1 >= n)
				return -EINVAL;
			i++;
			continue;
		}
		if (i < n && value[i] != ';')
			continue;
		int r = unescape_into(value + start, i - start, buf, true);
		if (r < 0)
			return r;
		if (*buf && (r = hv_strv_push(out, buf)) < 0)
			return r;
		start = i + 1;
	}
	return 0;
}

int lch_keyfile_bool(const char *value, bool *out)
{
	if (!strcmp(value, "true") || !strcmp(value, "1"))
		*out = true;
	else if (!strcmp(value, "false") || !strcmp(value, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}
