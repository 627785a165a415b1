/* util.c — arena, number parsing, full reads/writes, whole files, UTF-8 validation. */
#include <haven/log.h>
#include <haven/util.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- arena -------------------------------------------------------------- */
struct hv_arena_chunk {
	hv_arena_chunk *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK_MIN 4096u

void *hv_arena_alloc(hv_arena *a, size_t size)
{
	hv_arena_chunk *c = a->head;
	size_t need = HV_ALIGN_UP(size ? size : 1, (size_t)16);

	if (need < size)
		return NULL;
	if (!c || c->size - c->used < need) {
		size_t csize = HV_MAX(need, (size_t)ARENA_CHUNK_MIN);
		size_t total;
		if (!hv_add_ok(csize, sizeof(*c), &total))
			return NULL;
		c = malloc(total);
		if (!c)
			return NULL;
		c->size = csize;
		c->used = 0;
		/* A big one-off allocation goes behind the current chunk so the
		 * current chunk's free space is still used for small ones. */
		if (a->head && need > ARENA_CHUNK_MIN) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	void *p = c->data + c->used;
	c->used += need;
	a->used_total += need;
	return p;
}

void *hv_arena_calloc(hv_arena *a, size_t count, size_t size)
{
	size_t n;
	void *p;

	if (!hv_mul_ok(count, size, &n))
		return NULL;
	p = hv_arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *hv_arena_strndup(hv_arena *a, const char *s, size_t n)
{
	char *p = hv_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *hv_arena_strdup(hv_arena *a, const char *s) { return hv_arena_strndup(a, s, strlen(s)); }

char *hv_arena_printf(hv_arena *a, const char *fmt, ...)
{
	va_list ap, ap2;
	int n;
	char *p;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !(p = hv_arena_alloc(a, (size_t)n + 1))) {
		va_end(ap2);
		return NULL;
	}
	vsnprintf(p, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	return p;
}

void hv_arena_reset(hv_arena *a)
{
	hv_arena_chunk *keep = a->head;

	if (!keep)
		return;
	for (hv_arena_chunk *c = keep->next, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	keep->next = NULL;
	keep->used = 0;
	a->used_total = 0;
}

void hv_arena_release(hv_arena *a)
{
	for (hv_arena_chunk *c = a->head, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
	a->used_total = 0;
}

/* --- parsing ------------------------------------------------------------ */
int hv_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int hv_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	/* strtoull accepts "-1" as a huge number: refuse signs outright. */
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* --- I/O ---------------------------------------------------------------- */
int hv_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int hv_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

DIR *hv_opendir_at(int dirfd)
{
	/* A new open file description: readdir moves its offset, not dirfd's. */
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

int hv_xdg_path(enum hv_xdg kind, const char *sub, char **out)
{
	static const struct {
		const char *var, *fallback; /* fallback under $HOME; NULL: none */
	} bases[] = {
		[HV_XDG_CONFIG] = {"XDG_CONFIG_HOME", ".config"},
		[HV_XDG_DATA] = {"XDG_DATA_HOME", ".local/share"},
		[HV_XDG_STATE] = {"XDG_STATE_HOME", ".local/state"},
		[HV_XDG_CACHE] = {"XDG_CACHE_HOME", ".cache"},
		[HV_XDG_RUNTIME] = {"XDG_RUNTIME_DIR", NULL},
	};
	*out = NULL;
	if ((unsigned)kind >= HV_ARRAY_SIZE(bases))
		return -EINVAL;
	const char *base = getenv(bases[kind].var), *home = getenv("HOME");
	const char *under = NULL;
	if (!base || base[0] != '/') {
		if (!bases[kind].fallback || !home || home[0] != '/')
			return -ENOENT;
		base = home;
		under = bases[kind].fallback;
	}
	bool has_sub = sub && sub[0];
	int n = asprintf(out, "%s%s%s%s%s", base, under ? "/" : "", under ? under : "",
			 has_sub ? "/" : "", has_sub ? sub : "");
	if (n < 0) {
		*out = NULL;
		return -ENOMEM;
	}
	return 0;
}

int hv_runtime_dir(const char *name, char *buf, size_t size)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	int n;

	if (!rt || !*rt)
		return -ENOENT;
	n = snprintf(buf, size, "%s/haven", rt);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	n = snprintf(buf, size, "%s/haven/%s", rt, name);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

int hv_state_dir_arg(const char *arg, const char *name, char *buf, size_t size,
		     const char **out)
{
	int r;

	if (arg) {
		*out = strcmp(arg, "-") ? arg : NULL;
		return 0;
	}
	r = hv_runtime_dir(name, buf, size);
	if (r < 0)
		return hv_log_errno(r, "No state directory under $XDG_RUNTIME_DIR (give --state-dir DIR, or - for memory)");
	*out = buf;
	return 0;
}

/* --- UTF-8 -------------------------------------------------------------- */
bool hv_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	while (s < end) {
		unsigned char c;
		uint32_t cp;
		size_t n;

		/* ASCII fast path, eight bytes at a time (most text is ASCII). */
		while ((size_t)(end - s) >= 8) {
			uint64_t w;
			memcpy(&w, s, 8);
			if (w & 0x8080808080808080ull)
				break;
			s += 8;
		}
		if (s == end)
			break;
		c = *s;
		if (c < 0x80) {
			s++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte, overlong lead, or > U+10FFFF */
		}
		if ((size_t)(end - s) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

int hv_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; s && i < HV_ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

int hv_strv_push(hv_strv *l, const char *s)
{
	char **v = reallocarray(l->v, l->n + 2, sizeof(char *));
	if (!v)
		return -ENOMEM;
	l->v = v;
	if (!(v[l->n] = strdup(s)))
		return -ENOMEM;
	v[++l->n] = NULL;
	return 0;
}

int hv_strv_push_unique(hv_strv *l, const char *s)
{
	return hv_strv_contains(l, s) ? 0 : hv_strv_push(l, s);
}

bool hv_strv_contains(const hv_strv *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

void hv_strv_clear(hv_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
