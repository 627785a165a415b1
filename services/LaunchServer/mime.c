/* mime.c — shared-mime-info globs2/aliases/subclasses and libmagic
 * (mime.h). The database is read once per reload; matching a name is a
 * scan of ~1,100 globs with a suffix fast path. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <magic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <haven/log.h>
#include <haven/util.h>

#include "mime.h"

struct glob {
	char *type, *pattern;
	int weight;
	bool cs;     /* case-sensitive */
	bool suffix; /* "*.ext" with no other wildcard: a strcmp of the tail */
	size_t len;
};

struct pair {
	char *a, *b;
};

struct lch_mime {
	struct glob *globs;
	size_t nglobs;
	struct pair *aliases, *subclasses;
	size_t naliases, nsubclasses;
	magic_t magic;
};

static void pairs_free(struct pair *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].a);
		free(p[i].b);
	}
	free(p);
}

void lch_mime_free(struct lch_mime *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nglobs; i++) {
		free(m->globs[i].type);
		free(m->globs[i].pattern);
	}
	free(m->globs);
	pairs_free(m->aliases, m->naliases);
	pairs_free(m->subclasses, m->nsubclasses);
	free(m);
}

static char *read_text(const char *path)
{
	uint8_t *data = NULL;
	size_t len;
	int r = hv_read_file_at(AT_FDCWD, path, 0, 64u << 20, &data, &len);
	if (r < 0) {
		if (r != -ENOENT)
			hv_log_warn("%s: %s", path, strerror(-r));
		return NULL;
	}
	return (char *)data;
}

static void drop_type(struct lch_mime *m, const char *type)
{
	size_t o = 0;
	for (size_t i = 0; i < m->nglobs; i++) {
		if (!strcmp(m->globs[i].type, type)) {
			free(m->globs[i].type);
			free(m->globs[i].pattern);
		} else
			m->globs[o++] = m->globs[i];
	}
	m->nglobs = o;
}

static int add_glob(struct lch_mime *m, const char *type, const char *pattern, int weight, bool cs)
{
	struct glob *g = realloc(m->globs, (m->nglobs + 1) * sizeof(*g));
	if (!g)
		return -ENOMEM;
	m->globs = g;
	g = &m->globs[m->nglobs];
	*g = (struct glob){.type = strdup(type),
			   .pattern = strdup(pattern),
			   .weight = weight,
			   .cs = cs,
			   .len = strlen(pattern)};
	if (!g->type || !g->pattern) {
		free(g->type);
		free(g->pattern);
		return -ENOMEM;
	}
	g->suffix = pattern[0] == '*' && !strpbrk(pattern + 1, "*?[");
	m->nglobs++;
	return 0;
}

/* "weight:type:pattern[:flags]" lines of one globs2 file. */
static int load_globs2(struct lch_mime *m, const char *path)
{
	_hv_free_ char *text = read_text(path);
	if (!text)
		return 0;
	unsigned line = 0;
	for (char *s = text, *next; s; s = next) {
		line++;
		if ((next = strchr(s, '\n')))
			*next++ = '\0';
		if (!*s || *s == '#')
			continue;
		char *f[4] = {0};
		int nf = 0;
		for (char *p = s; p && nf < 4; nf++) {
			f[nf] = p;
			if ((p = strchr(p, ':')))
				*p++ = '\0';
		}
		int64_t w;
		if (nf < 3 || hv_parse_i64(f[0], 0, 100, &w) < 0 || !*f[2] ||
		    (strcmp(f[1], "__NOGLOBS__") && !lch_mime_valid(f[1]))) {
			hv_log_warn("%s:%u: not a globs2 line, skipped", path, line);
			continue;
		}
		if (!strcmp(f[2], "__NOGLOBS__")) {
			drop_type(m, f[1]);
			continue;
		}
		bool cs = nf == 4 && strstr(f[3], "cs");
		int r = add_glob(m, f[1], f[2], (int)w, cs);
		if (r < 0)
			return r;
	}
	return 0;
}

/* "a b" lines (aliases: alias canonical; subclasses: type parent). */
static int load_pairs(const char *path, struct pair **v, size_t *n)
{
	_hv_free_ char *text = read_text(path);
	if (!text)
		return 0;
	for (char *s = text, *next; s; s = next) {
		if ((next = strchr(s, '\n')))
			*next++ = '\0';
		char *sp = strchr(s, ' ');
		if (!sp || *s == '#')
			continue;
		*sp = '\0';
		struct pair *p = realloc(*v, (*n + 1) * sizeof(*p));
		if (!p)
			return -ENOMEM;
		*v = p;
		p[*n] = (struct pair){strdup(s), strdup(sp + 1)};
		if (!p[*n].a || !p[*n].b) {
			free(p[*n].a);
			free(p[*n].b);
			return -ENOMEM;
		}
		++*n;
	}
	return 0;
}

int lch_magic_open(const char *file, void **out)
{
	magic_t m = magic_open(MAGIC_MIME_TYPE);
	if (!m)
		return -ENOMEM;
	if (magic_load(m, file) < 0) {
		hv_log_error("libmagic: %s", magic_error(m));
		magic_close(m);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

void lch_magic_close(void *magic)
{
	if (magic)
		magic_close(magic);
}

int lch_mime_load(const char *const *dirs, size_t n, void *magic, struct lch_mime **out)
{
	struct lch_mime *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	int r = 0;
	char path[4096];
	/* Least important first, so a more important __NOGLOBS__ removes what
	 * came before it. Aliases and subclasses: the first match is used, so
	 * most important first. */
	for (size_t i = n; i-- > 0 && r >= 0;) {
		snprintf(path, sizeof(path), "%s/globs2", dirs[i]);
		r = load_globs2(m, path);
	}
	for (size_t i = 0; i < n && r >= 0; i++) {
		snprintf(path, sizeof(path), "%s/aliases", dirs[i]);
		if ((r = load_pairs(path, &m->aliases, &m->naliases)) < 0)
			break;
		snprintf(path, sizeof(path), "%s/subclasses", dirs[i]);
		r = load_pairs(path, &m->subclasses, &m->nsubclasses);
	}
	m->magic = magic;
	if (r < 0) {
		lch_mime_free(m);
		return r;
	}
	*out = m;
	return 0;
}

const char *lch_mime_unalias(const struct lch_mime *m, const char *type)
{
	for (size_t i = 0; i < m->naliases; i++)
		if (!strcmp(m->aliases[i].a, type))
			return m->aliases[i].b;
	return type;
}

size_t lch_mime_parents(const struct lch_mime *m, const char *type, const char **out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < m->nsubclasses && k < max; i++)
		if (!strcmp(m->subclasses[i].a, type))
			out[k++] = m->subclasses[i].b;
	if (k < max && !strncmp(type, "text/", 5) && strcmp(type, "text/plain")) {
		bool have = false;
		for (size_t i = 0; i < k; i++)
			have |= !strcmp(out[i], "text/plain");
		if (!have)
			out[k++] = "text/plain";
	}
	return k;
}

static bool is_a_depth(const struct lch_mime *m, const char *type, const char *parent, int depth)
{
	if (!strcmp(type, parent))
		return true;
	if (depth > 16)
		return false;
	const char *up[16];
	size_t n = lch_mime_parents(m, type, up, 16);
	for (size_t i = 0; i < n; i++)
		if (is_a_depth(m, up[i], parent, depth + 1))
			return true;
	return false;
}

bool lch_mime_is_a(const struct lch_mime *m, const char *type, const char *parent)
{
	type = lch_mime_unalias(m, type);
	parent = lch_mime_unalias(m, parent);
	if (!strcmp(parent, "application/octet-stream") && strncmp(type, "inode/", 6))
		return true;
	return is_a_depth(m, type, parent, 0);
}

static bool glob_match(const struct glob *g, const char *name, size_t nlen)
{
	if (g->suffix) {
		size_t sl = g->len - 1;
		if (nlen < sl)
			return false;
		const char *tail = name + nlen - sl;
		return g->cs ? !strcmp(tail, g->pattern + 1) : !strcasecmp(tail, g->pattern + 1);
	}
	return fnmatch(g->pattern, name, g->cs ? 0 : FNM_CASEFOLD) == 0;
}

size_t lch_mime_by_name(const struct lch_mime *m, const char *name, const char **types, size_t max)
{
	const char *slash = strrchr(name, '/');
	if (slash)
		name = slash + 1;
	size_t nlen = strlen(name), k = 0;
	int best_w = -1;
	size_t best_len = 0;
	for (size_t i = 0; i < m->nglobs; i++) {
		const struct glob *g = &m->globs[i];
		if (g->weight < best_w || (g->weight == best_w && g->len < best_len) ||
		    !glob_match(g, name, nlen))
			continue;
		if (g->weight > best_w || g->len > best_len) {
			best_w = g->weight;
			best_len = g->len;
			k = 0;
		}
		bool dup = false;
		for (size_t j = 0; j < k; j++)
			dup |= !strcmp(types[j], g->type);
		if (!dup && k < max)
			types[k++] = g->type;
	}
	return k;
}

/* libmagic names a few types differently from shared-mime-info. */
static const char *const magic_names[][2] = {
	{"inode/x-empty", "application/x-zerosize"},
	{"text/x-shellscript", "application/x-shellscript"},
};

int lch_mime_by_content(const struct lch_mime *m, const void *data, size_t len, char *buf,
			size_t size)
{
	if (!m->magic)
		return -ENOTSUP;
	const char *t = magic_buffer(m->magic, data, len);
	if (!t || !lch_mime_valid(t))
		return -EINVAL;
	for (size_t i = 0; i < HV_ARRAY_SIZE(magic_names); i++)
		if (!strcmp(t, magic_names[i][0]))
			t = magic_names[i][1];
	snprintf(buf, size, "%s", lch_mime_unalias(m, t));
	return 0;
}

int lch_mime_classify(const struct lch_mime *m, const char *name, const void *data, size_t len,
		      char *buf, size_t size, const char **by)
{
	const char *globs[16];
	size_t n = lch_mime_by_name(m, name, globs, 16);
	if (n == 1 || (n > 1 && !data)) {
		snprintf(buf, size, "%s", globs[0]);
		*by = "name";
		return 0;
	}
	char sniffed[256];
	if (!data || lch_mime_by_content(m, data, len, sniffed, sizeof(sniffed)) < 0) {
		snprintf(buf, size, "application/octet-stream");
		*by = "fallback";
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		if (lch_mime_is_a(m, sniffed, globs[i]) &&
		    strcmp(globs[i], "application/octet-stream")) {
			snprintf(buf, size, "%s", globs[i]);
			*by = "name+content";
			return 0;
		}
	snprintf(buf, size, "%s", sniffed);
	*by = "content";
	return 0;
}

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$&-^_.+", c));
}

bool lch_mime_valid(const char *type)
{
	const char *p = type;
	while (token_char(*p))
		p++;
	if (p == type || *p != '/' || p - type > 127)
		return false;
	const char *sub = ++p;
	while (token_char(*p))
		p++;
	return p != sub && !*p && p - sub <= 127;
}
