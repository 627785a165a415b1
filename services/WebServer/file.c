/* file.c — the root, its open-file cache and its MIME table (file.h). */
#include "file.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/util.h>

#include "beneath.h"
#include "http.h"

#define CACHE_BUCKETS 1024
#define MIME_BUCKETS 2048

typedef struct mime_entry {
	char *ext;
	char *type;
	struct mime_entry *next;
} mime_entry;

struct ws_root {
	int fd;
	uint64_t valid_ns;
	bool no_openat2; /* the sandbox refused it: walk instead */
	ws_file *buckets[CACHE_BUCKETS];
	unsigned count;
	mime_entry *mime[MIME_BUCKETS];
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* --- MIME types ---------------------------------------------------------- */

static int mime_add(ws_root *r, const char *type, const char *ext)
{
	mime_entry *e = calloc(1, sizeof *e);
	if (!e || !(e->ext = strdup(ext)) || !(e->type = strdup(type))) {
		if (e)
			free(e->ext);
		free(e);
		return -ENOMEM;
	}
	for (char *c = e->ext; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	uint32_t b = hash(e->ext) % MIME_BUCKETS;
	e->next = r->mime[b];
	r->mime[b] = e;
	return 0;
}

/* Debian's /etc/mime.types: "type ext ext …" per line, # comments. */
static int mime_load(ws_root *r, const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[1024];
	int ret = 0;
	while (ret == 0 && fgets(line, sizeof line, f)) {
		char *save = NULL, *type = strtok_r(line, " \t\r\n", &save);
		if (!type || type[0] == '#')
			continue;
		for (char *ext; ret == 0 && (ext = strtok_r(NULL, " \t\r\n", &save));)
			ret = mime_add(r, type, ext);
	}
	fclose(f);
	return ret;
}

const char *ws_mime_type(const ws_root *r, const char *name)
{
	const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
	if (dot && (!slash || dot > slash) && strlen(dot + 1) < 32) {
		char ext[32];
		size_t n = 0;
		for (const char *c = dot + 1; *c; c++)
			ext[n++] = (char)tolower((unsigned char)*c);
		ext[n] = '\0';
		for (mime_entry *e = r->mime[hash(ext) % MIME_BUCKETS]; e; e = e->next)
			if (strcmp(e->ext, ext) == 0)
				return e->type;
	}
	return "application/octet-stream";
}

/* --- opening beneath the root ---------------------------------------------- */

static int open_beneath(ws_root *r, const char *rel)
{
	bool was = r->no_openat2;
	int fd = ws_open_beneath(r->fd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, &r->no_openat2);
	if (r->no_openat2 && !was)
		hv_log_info("openat2 is not allowed here: resolving paths beneath the root by hand");
	return fd;
}

/* --- the cache -------------------------------------------------------------- */

static void file_free(ws_file *f)
{
	hv_close(&f->fd);
	free(f->data);
	free(f->key);
	free(f);
}

void ws_file_unref(ws_file *f)
{
	if (f && --f->refs == 0)
		file_free(f);
}

static void cache_remove(ws_root *r, ws_file *f)
{
	for (ws_file **p = &r->buckets[hash(f->key) % CACHE_BUCKETS]; *p; p = &(*p)->next) {
		if (*p == f) {
			*p = f->next;
			f->cached = false;
			r->count--;
			ws_file_unref(f);
			return;
		}
	}
}

static void cache_flush(ws_root *r)
{
	for (size_t b = 0; b < CACHE_BUCKETS; b++)
		while (r->buckets[b])
			cache_remove(r, r->buckets[b]);
}

/* Whether the path still names the file we hold (an editor replaces by
 * rename: a new inode; an in-place write: a new mtime or size). */
static bool still_same(ws_root *r, ws_file *f)
{
	struct stat st;
	if (fstatat(r->fd, f->key[0] ? f->key : ".", &st, 0) < 0)
		return f->fd < 0 && errno == f->err * -1;
	return f->fd >= 0 && st.st_ino == f->st.st_ino && st.st_dev == f->st.st_dev &&
	       st.st_size == f->st.st_size && st.st_mtim.tv_sec == f->st.st_mtim.tv_sec &&
	       st.st_mtim.tv_nsec == f->st.st_mtim.tv_nsec && st.st_ctim.tv_sec == f->st.st_ctim.tv_sec &&
	       st.st_ctim.tv_nsec == f->st.st_ctim.tv_nsec;
}

static int file_load(ws_root *r, ws_file *f)
{
	int fd = open_beneath(r, f->key);
	if (fd < 0)
		return f->err = fd, 0; /* a negative entry */
	f->fd = fd;
	if (fstat(fd, &f->st) < 0)
		return -errno;
	if (!S_ISREG(f->st.st_mode) && !S_ISDIR(f->st.st_mode)) {
		hv_close(&f->fd);
		f->err = -EACCES; /* a FIFO, a device: not content */
		return 0;
	}
	snprintf(f->etag, sizeof f->etag, "\"%llx-%llx\"", (unsigned long long)f->st.st_mtime,
		 (unsigned long long)f->st.st_size);
	ws_format_date(f->st.st_mtime, f->last_modified);
	if (S_ISREG(f->st.st_mode) && f->st.st_size > 0 && f->st.st_size <= WS_SMALL_FILE) {
		f->data = malloc((size_t)f->st.st_size);
		if (!f->data)
			return -ENOMEM;
		ssize_t n = pread(fd, f->data, (size_t)f->st.st_size, 0);
		if (n != f->st.st_size) { /* changed under us: serve by fd */
			free(f->data);
			f->data = NULL;
		}
	}
	return 0;
}

int ws_file_get(ws_root *r, const char *rel, ws_file **out)
{
	uint64_t now = hv_now_ns();
	uint32_t b = hash(rel) % CACHE_BUCKETS;
	for (ws_file *f = r->buckets[b]; f; f = f->next) {
		if (strcmp(f->key, rel) != 0)
			continue;
		if (now - f->checked_ns > r->valid_ns || r->valid_ns == 0) {
			if (!still_same(r, f)) {
				cache_remove(r, f);
				break;
			}
			f->checked_ns = now;
		}
		if (f->fd < 0)
			return f->err;
		f->refs++;
		*out = f;
		return 0;
	}
	if (r->count >= WS_CACHE_MAX)
		cache_flush(r);
	ws_file *f = calloc(1, sizeof *f);
	if (!f || !(f->key = strdup(rel))) {
		free(f);
		return -ENOMEM;
	}
	f->fd = -1;
	f->refs = 1;
	int e = file_load(r, f);
	if (e < 0) {
		file_free(f);
		return e;
	}
	f->checked_ns = now;
	f->cached = true;
	f->next = r->buckets[b];
	r->buckets[b] = f;
	r->count++;
	if (f->fd < 0)
		return f->err;
	f->refs++;
	*out = f;
	return 0;
}

int ws_root_open(const char *dir, const char *mime_types, uint64_t valid_ns, ws_root **out)
{
	ws_root *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->valid_ns = valid_ns;
	r->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->fd < 0) {
		int e = -errno;
		free(r);
		return hv_log_errno(e, "Cannot open the root %s", dir);
	}
	int e = mime_types ? mime_load(r, mime_types) : 0;
	if (e < 0)
		hv_log_warn("Cannot read %s (%s): every file is application/octet-stream",
			    mime_types, strerror(-e));
	*out = r;
	return 0;
}

void ws_root_free(ws_root *r)
{
	if (!r)
		return;
	cache_flush(r);
	for (size_t b = 0; b < MIME_BUCKETS; b++)
		for (mime_entry *e = r->mime[b], *n; e; e = n) {
			n = e->next;
			free(e->ext);
			free(e->type);
			free(e);
		}
	hv_close(&r->fd);
	free(r);
}

/* --- directory listings --------------------------------------------------- */

static void put_escaped(FILE *m, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", m); break;
		case '<': fputs("&lt;", m); break;
		case '>': fputs("&gt;", m); break;
		case '"': fputs("&quot;", m); break;
		case '\'': fputs("&#39;", m); break;
		default: fputc(*s, m);
		}
	}
}

static void put_url(FILE *m, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (isalnum(c) || strchr("-._~", c))
			fputc(c, m);
		else
			fprintf(m, "%%%02X", c);
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ws_list_directory(ws_root *r, ws_file *dir, const char *path, char **body, size_t *len)
{
	int fd = openat(dir->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	_hv_cleanup_(hv_strv_clear) hv_strv names = { 0 };
	int e = 0;
	for (struct dirent *de; e == 0 && (de = readdir(d));)
		if (de->d_name[0] != '.') /* nor "." and "..": hidden files stay hidden */
			e = hv_strv_push(&names, de->d_name);
	if (e == 0 && names.n)
		qsort(names.v, names.n, sizeof *names.v, cmp_names);
	FILE *m = e == 0 ? open_memstream(body, len) : NULL;
	if (!m) {
		closedir(d);
		return e < 0 ? e : -ENOMEM;
	}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ", m);
	put_escaped(m, path);
	fputs("</title></head>\n<body><h1>Index of ", m);
	put_escaped(m, path);
	fputs("</h1><hr><pre><a href=\"../\">../</a>\n", m);
	for (size_t i = 0; i < names.n; i++) {
		struct stat st;
		if (fstatat(dirfd(d), names.v[i], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		bool isdir = S_ISDIR(st.st_mode);
		char date[30];
		ws_format_date(st.st_mtime, date);
		fputs("<a href=\"", m);
		put_url(m, names.v[i]);
		fputs(isdir ? "/\">" : "\">", m);
		put_escaped(m, names.v[i]);
		fprintf(m, "%s</a> %s %lld\n", isdir ? "/" : "", date,
			isdir ? -1LL : (long long)st.st_size);
	}
	fputs("</pre><hr></body></html>\n", m);
	closedir(d);
	return fclose(m) == 0 ? 0 : -ENOMEM;
}
