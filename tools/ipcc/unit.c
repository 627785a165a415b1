/* unit.c — one compilation: the root .ipc file and the files it imports.
 *
 * Imports are resolved relative to the importing file, then in each -I
 * directory; `--types` files are loaded after the root as if it imported
 * them; a file is loaded once however often it is imported (cycles
 * are harmless). The whole text of each file is read before parsing, so a
 * read error is reported as such and never as a syntax error.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "ipcc.h"

#define IPCC_MAX_FILE_SIZE (16u << 20)

void ipcc_unit_init(ipcc_unit *u, FILE *err)
{
	memset(u, 0, sizeof(*u));
	u->err = err;
	u->allow_imports = true;
	ipcc_builtins_init(u);
}

void ipcc_unit_free(ipcc_unit *u)
{
	for (size_t i = 0; i < u->nfiles; i++) {
		free(u->files[i]->text);
		free(u->realpaths[i]);
	}
	free(u->files);
	free(u->realpaths);
	ipcc_arena_free(&u->arena);
	memset(u, 0, sizeof(*u));
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static ipcc_file *add_file(ipcc_unit *u, const char *path, char *text, size_t len, char *real)
{
	ipcc_file *f = ipcc_alloc(&u->arena, sizeof(*f));
	f->path = ipcc_strdup(&u->arena, path);
	const char *b = basename_of(path);
	size_t blen = strlen(b);
	if (blen > 4 && !strcmp(b + blen - 4, ".ipc"))
		blen -= 4;
	f->base = ipcc_strndup(&u->arena, b, blen);
	f->prefix = ipcc_snake(&u->arena, f->base);
	f->text = text;
	f->len = len;
	ipcc_file **nf = realloc(u->files, (u->nfiles + 1) * sizeof(*nf));
	char **nr = nf ? realloc(u->realpaths, (u->nfiles + 1) * sizeof(*nr)) : NULL;
	if (!nf || !nr) {
		fputs("ipcc: out of memory\n", stderr);
		abort();
	}
	u->files = nf;
	u->realpaths = nr;
	u->files[u->nfiles] = f;
	u->realpaths[u->nfiles] = real;
	u->nfiles++;
	return f;
}

/* Read a whole file; -errno, or -EFBIG past IPCC_MAX_FILE_SIZE. */
static int read_all(const char *path, char **out, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -errno;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int r = 0;
	while (buf) {
		if (n == cap) {
			if (cap >= IPCC_MAX_FILE_SIZE) {
				r = -EFBIG;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n, fp);
		n += k;
		if (k == 0) {
			if (ferror(fp))
				r = -EIO;
			break;
		}
	}
	fclose(fp);
	if (!buf)
		return -ENOMEM;
	if (r < 0) {
		free(buf);
		return r;
	}
	*out = buf;
	*len = n;
	return 0;
}

static ipcc_file *load(ipcc_unit *u, const char *path, ipcc_loc from, bool *failed)
{
	*failed = false;
	char *real = realpath(path, NULL);
	if (real) {
		for (size_t i = 0; i < u->nfiles; i++)
			if (u->realpaths[i] && !strcmp(u->realpaths[i], real)) {
				free(real);
				return u->files[i];
			}
	}
	char *text = NULL;
	size_t len = 0;
	int r = read_all(path, &text, &len);
	if (r < 0) {
		free(real);
		*failed = true;
		if (from.file)
			ipcc_error(u, from, "cannot read '%s': %s", path, strerror(-r));
		else
			ipcc_error(u, (ipcc_loc){path, 0, 0}, "cannot read: %s", strerror(-r));
		return NULL;
	}
	ipcc_file *f = add_file(u, path, text, len, real);
	if (ipcc_parse(u, f) < 0)
		*failed = true;
	return f;
}

int ipcc_load_file(ipcc_unit *u, const char *path)
{
	bool failed;
	ipcc_file *f = load(u, path, (ipcc_loc){0}, &failed);
	if (!f || failed)
		return -1;
	/* After the root, so files[0] stays the file being compiled; a types
	 * file the root also imports is loaded once. */
	size_t first = u->nfiles;
	for (size_t i = 0; i < u->ntypes_files; i++)
		if (!load(u, u->types_files[i], (ipcc_loc){0}, &failed) || failed)
			return -1;
	for (size_t i = first; i < u->nfiles; i++)
		u->files[i]->is_types = true;
	return u->errors ? -1 : 0;
}

int ipcc_load_text(ipcc_unit *u, const char *name, const char *text, size_t len)
{
	char *copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = 0;
	ipcc_file *f = add_file(u, name, copy, len, NULL);
	return ipcc_parse(u, f) < 0 || u->errors ? -1 : 0;
}

ipcc_file *ipcc_import(ipcc_unit *u, ipcc_file *from, const char *path, ipcc_loc loc)
{
	if (!u->allow_imports) {
		ipcc_error(u, loc, "imports are disabled here");
		return NULL;
	}
	if (!*path || strlen(path) >= PATH_MAX) {
		ipcc_error(u, loc, "invalid import path");
		return NULL;
	}
	/* Candidates: beside the importing file, then each -I directory. */
	const char *slash = strrchr(from->path, '/');
	char *cand;
	if (path[0] == '/')
		cand = ipcc_strdup(&u->arena, path);
	else if (slash)
		cand = ipcc_printf(&u->arena, "%.*s/%s", (int)(slash - from->path), from->path, path);
	else
		cand = ipcc_strdup(&u->arena, path);
	for (size_t i = 0; path[0] != '/' && access(cand, R_OK) != 0 && i < u->ninclude_dirs; i++) {
		char *c = ipcc_printf(&u->arena, "%s/%s", u->include_dirs[i], path);
		if (access(c, R_OK) == 0)
			cand = c;
	}
	if (access(cand, F_OK) != 0) {
		/* Say where we looked, in the words of the import. */
		char *where = slash ? ipcc_printf(&u->arena, "%.*s", (int)(slash - from->path), from->path) : ".";
		for (size_t i = 0; path[0] != '/' && i < u->ninclude_dirs; i++)
			where = ipcc_printf(&u->arena, "%s, %s", where, u->include_dirs[i]);
		ipcc_error(u, loc, "cannot find import '%s' (searched: %s)", path, path[0] == '/' ? "absolute path" : where);
		return NULL;
	}
	bool failed;
	return load(u, cand, loc, &failed);
}
