/* url.c — URL checks and file: conversions (url.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void lch_url_clear(struct lch_url *u)
{
	free(u->path);
	u->path = NULL;
}

static int decode_path(const char *s, char **out, const char **why)
{
	size_t n = strcspn(s, "?#");
	char *p = malloc(n + 1);
	if (!p)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			p[o++] = s[i];
			continue;
		}
		int h = i + 2 < n ? hexval(s[i + 1]) : -1, l = h >= 0 ? hexval(s[i + 2]) : -1;
		if (h < 0 || l < 0 || (h == 0 && l == 0)) {
			free(p);
			*why = h == 0 && l == 0 ? "a NUL byte (%00) in the path" : "a bad %-escape";
			return -EINVAL;
		}
		p[o++] = (char)(h * 16 + l);
		i += 2;
	}
	p[o] = '\0';
	*out = p;
	return 0;
}

int lch_url_parse(const char *url, struct lch_url *out, const char **why)
{
	*out = (struct lch_url){0};
	for (const unsigned char *p = (const unsigned char *)url; *p; p++)
		if (*p <= 0x20 || *p == 0x7f) {
			*why = *p == ' ' ? "a space (write %20)" : "a control character";
			return -EINVAL;
		}
	size_t n = 0;
	while (url[n] && url[n] != ':') {
		char c = url[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (n && ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'));
		if (!ok || n >= sizeof(out->scheme) - 1) {
			*why = "no scheme (an absolute URL starts with SCHEME:)";
			return -EINVAL;
		}
		n++;
	}
	if (!n || url[n] != ':') {
		*why = "no scheme (an absolute URL starts with SCHEME:)";
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		out->scheme[i] = (char)(url[i] >= 'A' && url[i] <= 'Z' ? url[i] + 32 : url[i]);
	out->scheme[n] = '\0';
	const char *rest = url + n + 1;
	if (!*rest) {
		*why = "nothing after the scheme";
		return -EINVAL;
	}
	if (strcmp(out->scheme, "file"))
		return 0;
	if (!strncmp(rest, "//", 2)) {
		rest += 2;
		size_t hl = strcspn(rest, "/");
		if (hl && !(hl == 9 && !strncmp(rest, "localhost", 9))) {
			*why = "a file: URL on another host";
			return -EINVAL;
		}
		rest += hl;
	}
	if (rest[0] != '/') {
		*why = "a file: URL without an absolute path";
		return -EINVAL;
	}
	return decode_path(rest, &out->path, why);
}

char *lch_url_from_path(const char *path)
{
	size_t n = strlen(path);
	char *u = malloc(7 + 3 * n + 1);
	if (!u)
		return NULL;
	char *o = u + sprintf(u, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return u;
}

char *lch_url_strip_fragment(const char *url)
{
	return strndup(url, strcspn(url, "#"));
}
