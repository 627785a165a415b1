/* mimeapps.c — one mimeapps.list: read it, and write a default into it
 * keeping everything else a person or another tool put there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "keyfile.h"
#include "mimeapps.h"

static void assoc_free(struct lch_assoc *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].type);
		hv_strv_clear(&v[i].ids);
	}
	free(v);
}

void lch_mimeapps_clear(struct lch_mimeapps *m)
{
	free(m->file);
	assoc_free(m->defaults, m->ndefaults);
	assoc_free(m->added, m->nadded);
	assoc_free(m->removed, m->nremoved);
	*m = (struct lch_mimeapps){.data_dir = -1};
}

const hv_strv *lch_mimeapps_find(const struct lch_assoc *v, size_t n, const char *type)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].type, type))
			return &v[i].ids;
	return NULL;
}

static int add_assoc(struct lch_assoc **v, size_t *n, const char *type, const char *value)
{
	struct lch_assoc *a = realloc(*v, (*n + 1) * sizeof(*a));
	if (!a)
		return -ENOMEM;
	*v = a;
	a = &a[*n];
	*a = (struct lch_assoc){.type = strdup(type)};
	if (!a->type)
		return -ENOMEM;
	int r = lch_keyfile_split_list(value, &a->ids);
	if (r < 0) {
		free(a->type);
		hv_strv_clear(&a->ids);
		return r;
	}
	++*n;
	return 0;
}

static int on_key(const char *group, const char *key, const char *locale, const char *value,
		  unsigned line, void *ud)
{
	(void)line;
	struct lch_mimeapps *m = ud;
	if (locale)
		return 0; /* "text/plain[de]=": not a thing; ignored */
	/* Keys here are MIME types: the key-file syntax allows only
	 * [A-Za-z0-9-] in key names, so '/', '.' and '+' are the spec's
	 * own exception; the keyfile parser hands us the whole key. */
	if (!strcmp(group, "Default Applications"))
		return add_assoc(&m->defaults, &m->ndefaults, key, value);
	if (!strcmp(group, "Added Associations"))
		return add_assoc(&m->added, &m->nadded, key, value);
	if (!strcmp(group, "Removed Associations"))
		return add_assoc(&m->removed, &m->nremoved, key, value);
	return 0;
}

int lch_mimeapps_parse(const char *text, size_t len, const char *file, struct lch_mimeapps *out,
		       char *err, size_t err_size)
{
	*out = (struct lch_mimeapps){.data_dir = -1};
	int r = lch_keyfile_parse(text, len, file, LCH_KEYFILE_MIME_KEYS, on_key, out, err,
				  err_size);
	if (r >= 0 && !(out->file = strdup(file)))
		r = -ENOMEM;
	if (r < 0)
		lch_mimeapps_clear(out);
	return r;
}

/* Append s[0..n) to a growing buffer. */
static int put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*len + n + 1) * 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static bool line_is_key(const char *s, size_t n, const char *type)
{
	size_t tl = strlen(type);
	if (n <= tl || strncmp(s, type, tl))
		return false;
	size_t i = tl;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i < n && s[i] == '=';
}

int lch_mimeapps_with_default(const char *text, const char *type, const char *id, char **out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s=%s;\n", type, id);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -ENAMETOOLONG;
	bool in_defaults = false, done = false;
	int r = 0;
	for (const char *s = text ? text : ""; *s && r >= 0;) {
		size_t l = strcspn(s, "\n");
		bool header = s[0] == '[';
		if (header && in_defaults && !done) {
			/* The group ends here without the key: add it last in it. */
			r = put(&buf, &len, &cap, line, (size_t)n);
			done = true;
		}
		if (header)
			in_defaults = !strncmp(s, "[Default Applications]", 22);
		if (r >= 0 && in_defaults && !done && line_is_key(s, l, type)) {
			r = put(&buf, &len, &cap, line, (size_t)n);
			done = true;
		} else if (r >= 0) {
			r = put(&buf, &len, &cap, s, l);
			if (r >= 0)
				r = put(&buf, &len, &cap, "\n", 1);
		}
		s += l;
		if (*s)
			s++;
	}
	if (r >= 0 && !done && !in_defaults)
		r = put(&buf, &len, &cap, "[Default Applications]\n", 23);
	if (r >= 0 && !done)
		r = put(&buf, &len, &cap, line, (size_t)n);
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	return 0;
}
