/* store.c — ConfigServer's layered INI store (see store.h for the model).
 *
 * Parts, in file order: in-memory tables (ordered groups of ordered keys),
 * name checks, the value encoding that survives inih, loading a file
 * (prescan + inih), the domain cache, the effective (user over defaults)
 * view and its diff, durable writes, and inotify pick-up of hand edits.
 */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

/* inih (as Debian builds it) reads at most 199 bytes per line; we write
 * shorter lines and refuse to load files with longer lines. */
#define INIH_MAX_LINE 198u
#define PLAIN_MAX_LINE 160u /* key = value */
#define CHUNK_MAX 120u      /* escaped bytes per line of a quoted value */

/* --- tables ---------------------------------------------------------------- */
typedef struct cfg_entry {
	char *key;
	char *value;
} cfg_entry;

typedef struct cfg_group {
	char *name;
	cfg_entry *entries;
	size_t n, cap;
} cfg_group;

typedef struct cfg_table {
	cfg_group *groups;
	size_t n, cap;
} cfg_table;

/* Identity of a file on disk, to tell our own writes from hand edits. */
typedef struct file_id {
	bool exists;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
} file_id;

typedef struct domain {
	char *name;
	cfg_table user, defaults;
	file_id user_id, defaults_id;
} domain;

struct cfg_store {
	char *user_dir, *defaults_dir;
	int user_dirfd, defaults_dirfd, inotify_fd;
	domain **domains;
	size_t n_domains, cap_domains;
	cfg_change_cb change_cb;
	void *change_ud;
	char why_buf[256];
};

static void group_clear(cfg_group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->entries[i].key);
		free(g->entries[i].value);
	}
	free(g->entries);
	free(g->name);
	*g = (cfg_group){0};
}

static void table_clear(cfg_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		group_clear(&t->groups[i]);
	free(t->groups);
	*t = (cfg_table){0};
}

static cfg_group *table_find(const cfg_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->groups[i].name, name) == 0)
			return &t->groups[i];
	return NULL;
}

static cfg_entry *group_find(const cfg_group *g, const char *key)
{
	if (!g)
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		if (strcmp(g->entries[i].key, key) == 0)
			return &g->entries[i];
	return NULL;
}

static int table_ensure(cfg_table *t, const char *name, cfg_group **out)
{
	cfg_group *g = table_find(t, name);
	if (!g) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 8;
			cfg_group *n = reallocarray(t->groups, cap, sizeof(*n));
			if (!n)
				return -ENOMEM;
			t->groups = n;
			t->cap = cap;
		}
		char *dup = strdup(name);
		if (!dup)
			return -ENOMEM;
		g = &t->groups[t->n++];
		*g = (cfg_group){.name = dup};
	}
	*out = g;
	return 0;
}

/* Takes ownership of value (freed on failure too). */
static int group_set_owned(cfg_group *g, const char *key, char *value)
{
	cfg_entry *e = group_find(g, key);
	if (e) {
		free(e->value);
		e->value = value;
		return 0;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 8;
		cfg_entry *n = reallocarray(g->entries, cap, sizeof(*n));
		if (!n) {
			free(value);
			return -ENOMEM;
		}
		g->entries = n;
		g->cap = cap;
	}
	char *k = strdup(key);
	if (!k) {
		free(value);
		return -ENOMEM;
	}
	g->entries[g->n++] = (cfg_entry){.key = k, .value = value};
	return 0;
}

static int group_set(cfg_group *g, const char *key, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	return group_set_owned(g, key, v);
}

static bool group_remove(cfg_group *g, const char *key)
{
	cfg_entry *e = group_find(g, key);
	if (!e)
		return false;
	free(e->key);
	free(e->value);
	size_t i = (size_t)(e - g->entries);
	memmove(&g->entries[i], &g->entries[i + 1], (g->n - i - 1) * sizeof(*e));
	g->n--;
	return true;
}

static bool table_remove(cfg_table *t, const char *name)
{
	cfg_group *g = table_find(t, name);
	if (!g)
		return false;
	size_t i = (size_t)(g - t->groups);
	group_clear(g);
	memmove(&t->groups[i], &t->groups[i + 1], (t->n - i - 1) * sizeof(*g));
	t->n--;
	return true;
}

static int table_copy(const cfg_table *src, cfg_table *dst)
{
	*dst = (cfg_table){0};
	for (size_t i = 0; i < src->n; i++) {
		cfg_group *g;
		int r = table_ensure(dst, src->groups[i].name, &g);
		for (size_t j = 0; r == 0 && j < src->groups[i].n; j++)
			r = group_set(g, src->groups[i].entries[j].key, src->groups[i].entries[j].value);
		if (r < 0) {
			table_clear(dst);
			return r;
		}
	}
	return 0;
}

/* --- name checks ------------------------------------------------------------- */
static bool has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

int cfg_check_domain(const char *d, const char **why)
{
	const char *w = NULL;
	size_t len = d ? strlen(d) : 0;
	if (len == 0)
		w = "domain name is empty";
	else if (len > CFG_MAX_DOMAIN_LEN)
		w = "domain name is longer than 128 bytes";
	else if (!hv_utf8_valid(d, len))
		w = "domain name is not valid UTF-8";
	else if (strchr(d, '/'))
		w = "domain name contains '/'";
	else if (strstr(d, ".."))
		w = "domain name contains '..'";
	else if (d[0] == '.')
		w = "domain name starts with '.'";
	else if (has_control(d))
		w = "domain name contains a control character";
	if (w && why)
		*why = w;
	return w ? -EINVAL : 0;
}

int cfg_check_name(const char *n, const char **why)
{
	const char *w = NULL;
	size_t len = n ? strlen(n) : 0;
	if (len == 0)
		w = "group or key name is empty";
	else if (len > CFG_MAX_NAME_LEN)
		w = "group or key name is longer than 48 bytes";
	else if (!hv_utf8_valid(n, len))
		w = "group or key name is not valid UTF-8";
	else if (has_control(n))
		w = "group or key name contains a control character";
	else if (strpbrk(n, "[]=:;#"))
		w = "group or key name contains one of [ ] = : ; #";
	else if (n[0] == ' ' || n[len - 1] == ' ')
		w = "group or key name starts or ends with a blank";
	if (w && why)
		*why = w;
	return w ? -EINVAL : 0;
}

int cfg_check_value(const char *v, const char **why)
{
	if (!v) {
		if (why)
			*why = "value is missing";
		return -EINVAL;
	}
	if (strlen(v) > CFG_MAX_VALUE_LEN) {
		if (why)
			*why = "value is longer than 64 KiB";
		return -E2BIG;
	}
	return 0;
}

/* --- value encoding ----------------------------------------------------------
 * A value is written plain (`key = value`) when inih returns it unchanged:
 * no control characters, no ';' or '#', no leading/trailing blank, not
 * starting with '"', and the line is short. Otherwise it is written quoted:
 * `key = "…"` with \\ \" \n \r \t \xHH escapes, split over continuation
 * lines (indented) that never start or end with a blank. */
typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static bool value_is_plain(const char *key, const char *v)
{
	size_t len = strlen(v);
	if (strlen(key) + 3 + len > PLAIN_MAX_LINE)
		return false;
	if (len == 0)
		return true;
	if (v[0] == '"' || v[0] == ' ' || v[len - 1] == ' ')
		return false;
	if (has_control(v) || strpbrk(v, ";#"))
		return false;
	return true;
}

/* One escaped token for byte c; blank_edge: the token starts or ends a line. */
static void escape_byte(unsigned char c, bool blank_edge, char out[5])
{
	switch (c) {
	case '\\': strcpy(out, "\\\\"); return;
	case '"': strcpy(out, "\\\""); return;
	case '\n': strcpy(out, "\\n"); return;
	case '\r': strcpy(out, "\\r"); return;
	case '\t': strcpy(out, "\\t"); return;
	default: break;
	}
	if (c < 0x20 || c == 0x7f || c == ';' || c == '#' || (c == ' ' && blank_edge)) {
		snprintf(out, 5, "\\x%02x", c);
		return;
	}
	out[0] = (char)c;
	out[1] = '\0';
}

static void write_entry(sbuf *b, const char *key, const char *v)
{
	sb_puts(b, key);
	sb_puts(b, " = ");
	if (value_is_plain(key, v)) {
		sb_puts(b, v);
		sb_puts(b, "\n");
		return;
	}
	sb_puts(b, "\"");
	size_t line = 0, len = strlen(v);
	for (size_t i = 0; i < len; i++) {
		bool more = i + 1 < len;
		/* inih strips blanks at both ends of a continuation line */
		bool edge = (line == 0 && i > 0) || (more && line + 1 >= CHUNK_MAX);
		char tok[5];
		escape_byte((unsigned char)v[i], edge, tok);
		sb_puts(b, tok);
		line += strlen(tok);
		if (line >= CHUNK_MAX && more) {
			sb_puts(b, "\n    ");
			line = 0;
		}
	}
	sb_puts(b, "\"\n");
}

static int serialize(const cfg_table *t, const char *domain_name, sbuf *b)
{
	sb_puts(b, "; ");
	sb_puts(b, domain_name);
	sb_puts(b, " - written by ConfigServer. Hand edits are picked up;\n"
		   "; keep lines under 199 bytes (long values use quoted continuation lines).\n");
	for (size_t i = 0; i < t->n; i++) {
		sb_puts(b, "\n[");
		sb_puts(b, t->groups[i].name);
		sb_puts(b, "]\n");
		for (size_t j = 0; j < t->groups[i].n; j++)
			write_entry(b, t->groups[i].entries[j].key, t->groups[i].entries[j].value);
	}
	return b->oom ? -ENOMEM : 0;
}

/* Quoted raw text (with its quotes) complete? A final '"' not escaped. */
static bool quoted_closed(const char *raw)
{
	size_t len = strlen(raw);
	if (len < 2 || raw[len - 1] != '"')
		return false;
	size_t bs = 0;
	for (size_t i = len - 1; i > 1 && raw[i - 1] == '\\'; i--)
		bs++;
	return bs % 2 == 0;
}

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

/* Decode a closed quoted value; NULL on OOM or a \x00 escape (*bad set). */
static char *unquote(const char *raw, bool *bad)
{
	size_t len = strlen(raw);
	char *out = malloc(len);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 1; i + 1 < len; i++) {
		char c = raw[i];
		if (c != '\\' || i + 2 >= len) {
			out[o++] = c;
			continue;
		}
		char n = raw[++i];
		switch (n) {
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case '\\': out[o++] = '\\'; break;
		case '"': out[o++] = '"'; break;
		case 'x':
			if (i + 2 < len - 1 && hexval(raw[i + 1]) >= 0 && hexval(raw[i + 2]) >= 0) {
				int v = hexval(raw[i + 1]) * 16 + hexval(raw[i + 2]);
				if (v == 0) {
					*bad = true;
					free(out);
					return NULL;
				}
				out[o++] = (char)v;
				i += 2;
				break;
			}
			/* not an escape: keep it literally */
			__attribute__((fallthrough));
		default:
			out[o++] = '\\';
			out[o++] = n;
			break;
		}
	}
	out[o] = '\0';
	return out;
}

/* --- loading ------------------------------------------------------------------ */
typedef struct parse_ctx {
	cfg_table *t;
	int err;
	bool bad_value;
	/* a quoted value being assembled over continuation lines */
	char *p_group, *p_key;
	sbuf p_raw;
} parse_ctx;

static int store_value(parse_ctx *c, const char *group, const char *key, char *owned)
{
	cfg_group *g;
	int r = table_ensure(c->t, group, &g);
	if (r < 0) {
		free(owned);
		return r;
	}
	return group_set_owned(g, key, owned);
}

static void pending_clear(parse_ctx *c)
{
	free(c->p_group);
	free(c->p_key);
	free(c->p_raw.p);
	c->p_group = c->p_key = NULL;
	c->p_raw = (sbuf){0};
}

/* An unterminated quoted value is kept literally, as written. */
static int pending_flush(parse_ctx *c)
{
	if (!c->p_key)
		return 0;
	char *raw = HV_TAKE_PTR(c->p_raw.p);
	if (!raw) {
		pending_clear(c);
		return -ENOMEM;
	}
	int r = store_value(c, c->p_group, c->p_key, raw);
	pending_clear(c);
	return r;
}

static int finish_quoted(parse_ctx *c, const char *group, const char *key, const char *raw)
{
	bool bad = false;
	char *v = unquote(raw, &bad);
	if (!v) {
		if (bad)
			c->bad_value = true;
		return bad ? -EBADMSG : -ENOMEM;
	}
	return store_value(c, group, key, v);
}

static int on_ini_pair(void *user, const char *section, const char *name, const char *value)
{
	parse_ctx *c = user;
	int r = 0;
	if (c->p_key && strcmp(c->p_group, section) == 0 && strcmp(c->p_key, name) == 0) {
		/* continuation line of the quoted value being assembled */
		sb_add(&c->p_raw, value, strlen(value));
		if (c->p_raw.oom)
			r = -ENOMEM;
		else if (quoted_closed(c->p_raw.p)) {
			r = finish_quoted(c, c->p_group, c->p_key, c->p_raw.p);
			pending_clear(c);
		}
	} else {
		r = pending_flush(c);
		if (r == 0 && value[0] == '"') {
			if (quoted_closed(value))
				r = finish_quoted(c, section, name, value);
			else {
				c->p_group = strdup(section);
				c->p_key = strdup(name);
				sb_puts(&c->p_raw, value);
				if (!c->p_group || !c->p_key || c->p_raw.oom)
					r = -ENOMEM;
			}
		} else if (r == 0) {
			char *v = strdup(value);
			r = v ? store_value(c, section, name, v) : -ENOMEM;
		}
	}
	if (r < 0 && c->err == 0)
		c->err = r;
	return r == 0;
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f' || *p == '\r'))
		p++;
	return p;
}

/* What inih cannot tell us (as Debian builds it): lines too long for it,
 * names it would truncate, and empty groups (no handler call). Mirrors
 * inih's line classification: comment, continuation, section, pair. */
static int prescan(const char *buf, size_t len, cfg_table *t, unsigned *bad_line,
		   const char **why)
{
	const char *p = buf, *end = buf + len;
	bool have_prev = false;
	unsigned lineno = 0;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		*bad_line = lineno;
		size_t ll = (size_t)(le - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll > INIH_MAX_LINE) {
			*why = "line is longer than 198 bytes";
			return -EBADMSG;
		}

		const char *s = skip_blank(p, le);
		if (s < le && (*s == ';' || *s == '#')) {
			/* comment */
		} else if (have_prev && s < le && s > p) {
			/* continuation */
		} else if (s < le && *s == '[') {
			const char *close = memchr(s, ']', (size_t)(le - s));
			if (!close) {
				*why = "group header without ']'";
				return -EBADMSG;
			}
			size_t n = (size_t)(close - s - 1);
			if (n == 0 || n > CFG_MAX_NAME_LEN) {
				*why = "group name is empty or longer than 48 bytes";
				return -EBADMSG;
			}
			/* names are UTF-8 (store.h), as the IPC Strings carrying them */
			if (!hv_utf8_valid(s + 1, n)) {
				*why = "group name is not valid UTF-8";
				return -EBADMSG;
			}
			char name[CFG_MAX_NAME_LEN + 1];
			memcpy(name, s + 1, n);
			name[n] = '\0';
			cfg_group *g;
			int r = table_ensure(t, name, &g);
			if (r < 0)
				return r;
			have_prev = false;
		} else if (s < le) {
			const char *sep = s;
			while (sep < le && *sep != '=' && *sep != ':')
				sep++;
			if (sep == le) {
				*why = "line is neither 'key = value', '[group]' nor a comment";
				return -EBADMSG;
			}
			const char *ke = sep;
			while (ke > s && (ke[-1] == ' ' || ke[-1] == '\t'))
				ke--;
			if (ke == s || (size_t)(ke - s) > CFG_MAX_NAME_LEN) {
				*why = "key name is empty or longer than 48 bytes";
				return -EBADMSG;
			}
			if (!hv_utf8_valid(s, (size_t)(ke - s))) {
				*why = "key name is not valid UTF-8";
				return -EBADMSG;
			}
			have_prev = true;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static void file_id_from_stat(file_id *id, const struct stat *st)
{
	*id = (file_id){.exists = true,
			.dev = st->st_dev,
			.ino = st->st_ino,
			.size = st->st_size,
			.mtime = st->st_mtim,
			.ctime = st->st_ctim};
}

static bool file_id_equal(const file_id *a, const file_id *b)
{
	if (a->exists != b->exists)
		return false;
	if (!a->exists)
		return true;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

static int stat_domain_file(int dirfd, const char *domain_name, file_id *id)
{
	char fname[CFG_MAX_DOMAIN_LEN + 8];
	snprintf(fname, sizeof(fname), "%s.ini", domain_name);
	*id = (file_id){0};
	if (dirfd < 0)
		return 0;
	struct stat st;
	/* The link itself, not what it points to: a symlink put there is a
	 * change (to a file that is refused), whatever its target. */
	if (fstatat(dirfd, fname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	file_id_from_stat(id, &st);
	return 0;
}

/* Load <dir>/<domain>.ini into t (empty if missing). On a parse error,
 * s->why_buf says "<path>:<line>: <why>". */
static int load_file(cfg_store *s, int dirfd, const char *dir, const char *domain_name,
		     cfg_table *t, file_id *id)
{
	char fname[CFG_MAX_DOMAIN_LEN + 8];
	snprintf(fname, sizeof(fname), "%s.ini", domain_name);
	*t = (cfg_table){0};
	*id = (file_id){0};
	if (dirfd < 0)
		return 0;
	/* Never follows a symlink, never blocks on a FIFO planted there. */
	_hv_close_ int fd = hv_open_regular_at(dirfd, fname, 0);
	if (fd == -ENOENT)
		return 0;
	if (fd == -EINVAL || fd == -ENXIO) { /* ENXIO: a socket */
		snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s: not a regular file", dir, fname);
		return -EBADMSG;
	}
	if (fd == -ELOOP) {
		snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s: a symbolic link, refused", dir, fname);
		return fd;
	}
	if (fd < 0) {
		snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s: %s", dir, fname, strerror(-fd));
		return fd;
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size > CFG_MAX_FILE_SIZE) {
		snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s: larger than %u bytes", dir, fname,
			 CFG_MAX_FILE_SIZE);
		return -EFBIG;
	}
	_hv_free_ char *buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		return -ENOMEM;
	/* Read what is there now; the size may have changed since fstat. */
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == (size_t)st.st_size)
			break;
	}
	buf[len] = '\0';
	unsigned line = 0;
	const char *why = NULL;
	if (memchr(buf, '\0', len)) {
		snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s: contains a NUL byte", dir, fname);
		return -EBADMSG;
	}
	int r = prescan(buf, len, t, &line, &why);
	if (r == 0) {
		parse_ctx c = {.t = t};
		int pr = ini_parse_string(buf, on_ini_pair, &c);
		if (c.err == 0)
			c.err = pending_flush(&c);
		pending_clear(&c);
		if (c.err == -ENOMEM)
			r = -ENOMEM;
		else if (pr != 0 || c.err < 0) {
			line = pr > 0 ? (unsigned)pr : 0;
			why = c.bad_value ? "value contains an escaped NUL (\\x00)"
					  : "cannot be parsed";
			r = -EBADMSG;
		}
	}
	if (r < 0) {
		table_clear(t);
		if (why)
			snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s:%u: %s", dir, fname, line, why);
		return r;
	}
	file_id_from_stat(id, &st);
	return 0;
}

/* --- store and domain cache ---------------------------------------------------- */
/* A SIGKILL between creating the temp file and the rename leaves
 * ".<domain>.ini.XXXXXX" (hv_replace_file_at's name). */
static void remove_stale_temps(cfg_store *s)
{
	DIR *d = hv_opendir_at(s->user_dirfd);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		const char *dot = strrchr(n, '.');
		if (n[0] == '.' && dot && dot - n >= 5 && memcmp(dot - 4, ".ini", 4) == 0 &&
		    strlen(dot + 1) == 6) {
			if (unlinkat(s->user_dirfd, n, 0) == 0)
				hv_log_info("removed %s/%s left by an interrupted write", s->user_dir, n);
		}
	}
	closedir(d);
}

/* The directories: the user's (created), the defaults' (optional). */
static int open_dirs(cfg_store *s, const char *user_dir, const char *defaults_dir)
{
	int r = hv_mkdir_p(user_dir, 0700);
	if (r < 0)
		return hv_log_errno(r, "Failed to create %s", user_dir);
	s->user_dirfd = open(user_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->user_dirfd < 0)
		return hv_log_errno(-errno, "Failed to open %s", user_dir);
	if (!defaults_dir)
		return 0;
	s->defaults_dirfd = open(defaults_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->defaults_dirfd < 0 && (errno == EACCES || errno == EPERM))
		/* the sandbox we were started in does not include it */
		hv_log_warn("cannot read defaults in %s (%m): serving without defaults",
			    defaults_dir);
	else if (s->defaults_dirfd < 0 && errno != ENOENT)
		return hv_log_errno(-errno, "Failed to open %s", defaults_dir);
	return 0;
}

int cfg_store_open(const char *user_dir, const char *defaults_dir, cfg_store **out)
{
	_hv_cleanup_(cfg_store_freep) cfg_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->user_dirfd = s->defaults_dirfd = s->inotify_fd = -1;
	s->user_dir = strdup(user_dir);
	if (!s->user_dir || (defaults_dir && !(s->defaults_dir = strdup(defaults_dir))))
		return -ENOMEM;
	int r = open_dirs(s, user_dir, defaults_dir);
	if (r < 0)
		return r;
	s->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->inotify_fd < 0)
		return hv_log_errno(-errno, "Failed to create an inotify instance");
	const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE;
	if (inotify_add_watch(s->inotify_fd, user_dir, mask) < 0)
		return hv_log_errno(-errno, "Failed to watch %s", user_dir);
	if (s->defaults_dirfd >= 0 && inotify_add_watch(s->inotify_fd, defaults_dir, mask) < 0)
		hv_log_warn("cannot watch %s (%m): default changes need a restart", defaults_dir);
	remove_stale_temps(s);
	*out = HV_TAKE_PTR(s);
	return 0;
}

static void domain_free(domain *d)
{
	if (!d)
		return;
	table_clear(&d->user);
	table_clear(&d->defaults);
	free(d->name);
	free(d);
}

void cfg_store_free(cfg_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_domains; i++)
		domain_free(s->domains[i]);
	free(s->domains);
	hv_close(&s->user_dirfd);
	hv_close(&s->defaults_dirfd);
	hv_close(&s->inotify_fd);
	free(s->user_dir);
	free(s->defaults_dir);
	free(s);
}

void cfg_store_set_change_cb(cfg_store *s, cfg_change_cb cb, void *userdata)
{
	s->change_cb = cb;
	s->change_ud = userdata;
}

static domain *find_domain(cfg_store *s, const char *name)
{
	for (size_t i = 0; i < s->n_domains; i++)
		if (strcmp(s->domains[i]->name, name) == 0)
			return s->domains[i];
	return NULL;
}

static int get_domain(cfg_store *s, const char *name, domain **out, const char **why)
{
	int r = cfg_check_domain(name, why);
	if (r < 0)
		return r;
	domain *d = find_domain(s, name);
	if (d) {
		*out = d;
		return 0;
	}
	if (s->n_domains >= CFG_MAX_DOMAINS) {
		if (why)
			*why = "too many domains loaded";
		return -ENOSPC;
	}
	if (s->n_domains == s->cap_domains) {
		size_t cap = s->cap_domains ? s->cap_domains * 2 : 16;
		domain **n = reallocarray(s->domains, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->domains = n;
		s->cap_domains = cap;
	}
	d = calloc(1, sizeof(*d));
	if (!d || !(d->name = strdup(name))) {
		free(d);
		return -ENOMEM;
	}
	s->why_buf[0] = '\0';
	r = load_file(s, s->defaults_dirfd, s->defaults_dir, name, &d->defaults, &d->defaults_id);
	if (r == 0)
		r = load_file(s, s->user_dirfd, s->user_dir, name, &d->user, &d->user_id);
	if (r < 0) {
		if (s->why_buf[0]) {
			hv_log_error("%s", s->why_buf);
			if (why)
				*why = s->why_buf;
		}
		domain_free(d);
		return r;
	}
	s->domains[s->n_domains++] = d;
	*out = d;
	return 0;
}

int cfg_store_load(cfg_store *s, const char *name, const char **why)
{
	domain *d;
	return get_domain(s, name, &d, why);
}

void cfg_store_forget(cfg_store *s, const char *name)
{
	for (size_t i = 0; i < s->n_domains; i++)
		if (strcmp(s->domains[i]->name, name) == 0) {
			domain_free(s->domains[i]);
			memmove(&s->domains[i], &s->domains[i + 1],
				(s->n_domains - i - 1) * sizeof(*s->domains));
			s->n_domains--;
			return;
		}
}

/* --- effective view -------------------------------------------------------------- */
static const char *eff_get(const cfg_table *user, const cfg_table *defs, const char *group,
			   const char *key)
{
	cfg_entry *e = group_find(table_find(user, group), key);
	if (!e)
		e = group_find(table_find(defs, group), key);
	return e ? e->value : NULL;
}

static bool eff_has_group(const cfg_table *user, const cfg_table *defs, const char *group)
{
	return table_find(user, group) || table_find(defs, group);
}

typedef int (*name_visit)(const char *name, void *ud);

static int eff_groups(const cfg_table *user, const cfg_table *defs, name_visit cb, void *ud)
{
	int r;
	for (size_t i = 0; i < user->n; i++)
		if ((r = cb(user->groups[i].name, ud)))
			return r;
	for (size_t i = 0; i < defs->n; i++)
		if (!table_find(user, defs->groups[i].name) && (r = cb(defs->groups[i].name, ud)))
			return r;
	return 0;
}

static int eff_keys(const cfg_table *user, const cfg_table *defs, const char *group, name_visit cb,
		    void *ud)
{
	int r;
	cfg_group *ug = table_find(user, group), *dg = table_find(defs, group);
	for (size_t i = 0; ug && i < ug->n; i++)
		if ((r = cb(ug->entries[i].key, ud)))
			return r;
	for (size_t i = 0; dg && i < dg->n; i++)
		if (!group_find(ug, dg->entries[i].key) && (r = cb(dg->entries[i].key, ud)))
			return r;
	return 0;
}

int cfg_store_get(cfg_store *s, const char *dn, const char *group, const char *key,
		  const char **value, const char **why)
{
	domain *d;
	int r = get_domain(s, dn, &d, why);
	if (r == 0)
		r = cfg_check_name(group, why);
	if (r == 0)
		r = cfg_check_name(key, why);
	if (r < 0)
		return r;
	const char *v = eff_get(&d->user, &d->defaults, group, key);
	if (!v)
		return -ENOENT;
	*value = v;
	return 0;
}

typedef struct name_list {
	const char **names;
	size_t n, cap;
} name_list;

static int collect_name(const char *name, void *ud)
{
	name_list *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		const char **n = reallocarray(l->names, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		l->names = n;
		l->cap = cap;
	}
	l->names[l->n++] = name;
	return 0;
}

int cfg_store_list_groups(cfg_store *s, const char *dn, const char ***names,
			  size_t *count, const char **why)
{
	domain *d;
	int r = get_domain(s, dn, &d, why);
	if (r < 0)
		return r;
	name_list l = {0};
	r = eff_groups(&d->user, &d->defaults, collect_name, &l);
	if (r < 0) {
		free(l.names);
		return r;
	}
	*names = l.names;
	*count = l.n;
	return 0;
}

int cfg_store_list_keys(cfg_store *s, const char *dn, const char *group,
			const char ***names, size_t *count, const char **why)
{
	domain *d;
	int r = get_domain(s, dn, &d, why);
	if (r == 0)
		r = cfg_check_name(group, why);
	if (r < 0)
		return r;
	name_list l = {0};
	r = eff_keys(&d->user, &d->defaults, group, collect_name, &l);
	if (r < 0) {
		free(l.names);
		return r;
	}
	*names = l.names;
	*count = l.n;
	return 0;
}

/* --- diff: announce every effective change between two states ------------------- */
typedef struct diff_ctx {
	cfg_store *s;
	const char *domain;
	const cfg_table *old_user, *old_defs, *new_user, *new_defs;
	const cfg_op *ops;
	size_t n_ops;
	void *origin;
	const char *group; /* while visiting keys */
} diff_ctx;

static void emit(diff_ctx *c, enum cfg_change_kind kind, const char *group, const char *key,
		 const char *value)
{
	cfg_change ch = {.kind = kind, .domain = c->domain, .group = group, .key = key,
			       .value = value, .type = CFG_TYPE_STRING};
	/* A typed write is announced with its type (the last op on that key). */
	for (size_t i = c->n_ops; kind == CFG_CHANGED_VALUE && i-- > 0;) {
		const cfg_op *op = &c->ops[i];
		if (op->kind == CFG_SET && strcmp(op->group, group) == 0 &&
		    strcmp(op->key, key) == 0 && strcmp(op->value, value) == 0) {
			ch.type = op->type;
			break;
		}
	}
	if (c->s->change_cb)
		c->s->change_cb(&ch, c->origin, c->s->change_ud);
}

static int diff_new_key(const char *key, void *ud)
{
	diff_ctx *c = ud;
	const char *nv = eff_get(c->new_user, c->new_defs, c->group, key);
	const char *ov = eff_get(c->old_user, c->old_defs, c->group, key);
	if (!ov || strcmp(ov, nv) != 0)
		emit(c, CFG_CHANGED_VALUE, c->group, key, nv);
	return 0;
}

static int diff_new_group(const char *group, void *ud)
{
	diff_ctx *c = ud;
	if (!eff_has_group(c->old_user, c->old_defs, group))
		emit(c, CFG_ADDED_GROUP, group, NULL, NULL);
	c->group = group;
	return eff_keys(c->new_user, c->new_defs, group, diff_new_key, c);
}

static int diff_old_key(const char *key, void *ud)
{
	diff_ctx *c = ud;
	if (!eff_get(c->new_user, c->new_defs, c->group, key))
		emit(c, CFG_REMOVED_KEY, c->group, key, NULL);
	return 0;
}

static int diff_old_group(const char *group, void *ud)
{
	diff_ctx *c = ud;
	if (!eff_has_group(c->new_user, c->new_defs, group)) {
		emit(c, CFG_REMOVED_GROUP, group, NULL, NULL);
		return 0;
	}
	c->group = group;
	return eff_keys(c->old_user, c->old_defs, group, diff_old_key, c);
}

static void announce(diff_ctx *c)
{
	if (!c->s->change_cb)
		return;
	eff_groups(c->new_user, c->new_defs, diff_new_group, c);
	eff_groups(c->old_user, c->old_defs, diff_old_group, c);
}

/* --- durable writes ------------------------------------------------------------------ */
static int write_durably(cfg_store *s, const char *dn, const sbuf *content, file_id *id)
{
	char fname[CFG_MAX_DOMAIN_LEN + 8];
	snprintf(fname, sizeof(fname), "%s.ini", dn);
	struct stat st;
	int r = hv_replace_file_data_at(s->user_dirfd, fname, 0600, 0, content->p, content->len, &st);
	if (r < 0)
		return hv_log_errno(r, "Failed to write %s/%s", s->user_dir, fname);
	/* The identity after the rename: what inotify will show us again. */
	file_id_from_stat(id, &st);
	return 0;
}

/* The user's file of a loaded domain may have been replaced since it was
 * read: by a symlink, refused (-ELOOP) as when loading, since renaming the
 * new file over it would silently turn the link into a copy; by anything
 * else that is not a file, refused too (-EBADMSG). Missing is fine. */
static int check_user_file(cfg_store *s, const char *dn, const char **why)
{
	char fname[CFG_MAX_DOMAIN_LEN + 8];
	snprintf(fname, sizeof(fname), "%s.ini", dn);
	struct stat st;
	if (fstatat(s->user_dirfd, fname, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISREG(st.st_mode))
		return 0;
	bool link = S_ISLNK(st.st_mode);
	snprintf(s->why_buf, sizeof(s->why_buf), "%s/%s: %s, refused", s->user_dir, fname,
		 link ? "a symbolic link" : "not a regular file");
	hv_log_warn("%s", s->why_buf);
	if (why)
		*why = s->why_buf;
	return link ? -ELOOP : -EBADMSG;
}

static int apply_op(cfg_table *t, const cfg_op *op, const char **why)
{
	int r = cfg_check_name(op->group, why);
	if (r < 0)
		return r;
	cfg_group *g;
	switch (op->kind) {
	case CFG_SET:
		if ((r = cfg_check_name(op->key, why)) < 0 ||
		    (r = cfg_check_value(op->value, why)) < 0)
			return r;
		if ((r = table_ensure(t, op->group, &g)) < 0)
			return r;
		return group_set(g, op->key, op->value);
	case CFG_REMOVE_KEY:
		if ((r = cfg_check_name(op->key, why)) < 0)
			return r;
		group_remove(table_find(t, op->group), op->key);
		return 0;
	case CFG_REMOVE_GROUP:
		table_remove(t, op->group);
		return 0;
	case CFG_ADD_GROUP:
		return table_ensure(t, op->group, &g);
	}
	if (why)
		*why = "unknown operation";
	return -EINVAL;
}

int cfg_store_apply(cfg_store *s, const char *dn, const cfg_op *ops,
		    size_t n_ops, void *origin, const char **why)
{
	if (why)
		*why = NULL;
	if (n_ops > CFG_MAX_BATCH_OPS) {
		if (why)
			*why = "batch has more than 4096 operations";
		return -E2BIG;
	}
	domain *d;
	int r = get_domain(s, dn, &d, why);
	if (r < 0)
		return r;
	cfg_table next;
	if ((r = table_copy(&d->user, &next)) < 0)
		return r;
	for (size_t i = 0; i < n_ops && r == 0; i++)
		r = apply_op(&next, &ops[i], why);
	sbuf old_text = {0}, new_text = {0};
	if (r == 0)
		r = serialize(&d->user, dn, &old_text);
	if (r == 0)
		r = serialize(&next, dn, &new_text);
	if (r == 0 && new_text.len > CFG_MAX_FILE_SIZE) {
		if (why)
			*why = "domain would grow beyond 4 MiB";
		r = -EFBIG;
	}
	bool changed = r == 0 && (old_text.len != new_text.len ||
				  memcmp(old_text.p, new_text.p, new_text.len) != 0);
	/* The file may be missing although the table is empty: nothing to do. */
	if (changed && (r = check_user_file(s, dn, why)) == 0)
		r = write_durably(s, dn, &new_text, &d->user_id);
	free(old_text.p);
	free(new_text.p);
	if (r < 0 || !changed) {
		table_clear(&next);
		if (r < 0 && why && !*why)
			*why = r == -ENOSPC || r == -EDQUOT ? "the settings directory is full"
			       : r == -EROFS		  ? "the settings directory is read-only"
						  : "cannot write the domain's file";
		return r;
	}
	cfg_table old = d->user;
	d->user = next;
	diff_ctx c = {.s = s, .domain = d->name, .old_user = &old, .old_defs = &d->defaults,
		      .new_user = &d->user, .new_defs = &d->defaults, .ops = ops, .n_ops = n_ops,
		      .origin = origin};
	announce(&c);
	table_clear(&old);
	return 0;
}

/* --- inotify --------------------------------------------------------------------- */
int cfg_store_inotify_fd(const cfg_store *s) { return s->inotify_fd; }

/* Re-read a loaded domain if either of its files is not what we last saw. */
static void refresh_domain(cfg_store *s, domain *d)
{
	file_id uid, did;
	if (stat_domain_file(s->user_dirfd, d->name, &uid) < 0 ||
	    stat_domain_file(s->defaults_dirfd, d->name, &did) < 0)
		return;
	if (file_id_equal(&uid, &d->user_id) && file_id_equal(&did, &d->defaults_id))
		return;
	cfg_table nu, nd;
	file_id nuid, ndid;
	s->why_buf[0] = '\0';
	int r = load_file(s, s->defaults_dirfd, s->defaults_dir, d->name, &nd, &ndid);
	if (r == 0) {
		r = load_file(s, s->user_dirfd, s->user_dir, d->name, &nu, &nuid);
		if (r < 0)
			table_clear(&nd);
	}
	if (r < 0) {
		hv_log_warn("keeping the last good state of domain %s: %s", d->name,
			    s->why_buf[0] ? s->why_buf : strerror(-r));
		return;
	}
	cfg_table ou = d->user, od = d->defaults;
	d->user = nu;
	d->defaults = nd;
	d->user_id = nuid;
	d->defaults_id = ndid;
	diff_ctx c = {.s = s, .domain = d->name, .old_user = &ou, .old_defs = &od,
		      .new_user = &d->user, .new_defs = &d->defaults};
	announce(&c);
	table_clear(&ou);
	table_clear(&od);
}

int cfg_store_process_inotify(cfg_store *s)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false, overflow = false;
	for (;;) {
		ssize_t n = read(s->inotify_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				overflow = true;
			if (ev->len && ev->name[0] != '.')
				any = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	/* Events are only a hint: compare every loaded domain's files with what
	 * we last read (cheap: a few fstatat), so nothing is missed. */
	if (any || overflow)
		for (size_t i = 0; i < s->n_domains; i++)
			refresh_domain(s, s->domains[i]);
	return 0;
}

int cfg_store_user_path(const cfg_store *s, const char *dn, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s.ini", s->user_dir, dn);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
