/* grants.c — the remembered "always" answers, in STATE_DIR/grants:
 *
 *	haven-fsa-grants 1
 *	UID<TAB>ACCESS<TAB>GRANTED_AT<TAB>EXECUTABLE<TAB>PATH
 *
 * one line each; in EXECUTABLE and PATH, "%", TAB and newline are written
 * %25, %09, %0A. The file is replaced durably (hv_replace_file_at) on each
 * change, so a crash leaves the old list or the new one. A line that does
 * not parse is reported as FILE:LINE and skipped: the rest still loads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "FileSystemAccessServer.h"

#define HEADER "haven-fsa-grants 1\n"

static fsa_grants store;
static int store_dir = -1;

void fsa_grants_clear(fsa_grants *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].exe);
		free(g->v[i].path);
	}
	free(g->v);
	*g = (fsa_grants){0};
}

const fsa_grants *fsa_grants_all(void) { return &store; }

/* %-decoding of one field into a malloc'd string; NULL when malformed. */
static char *unescape(const char *s, size_t len)
{
	char *out = malloc(len + 1), *o = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len) {
			free(out);
			return NULL;
		}
		char hex[3] = {s[i + 1], s[i + 2], 0}, *end;
		long v = strtol(hex, &end, 16);
		if (*end || (v != 0x25 && v != 0x09 && v != 0x0a)) {
			free(out);
			return NULL;
		}
		*o++ = (char)v;
		i += 2;
	}
	*o = 0;
	return out;
}

static int parse_line(const char *line, size_t len, fsa_grant *g)
{
	const char *f[5];
	size_t fl[5], k = 0;
	const char *p = line, *end = line + len;
	while (k < 5) {
		const char *tab = k < 4 ? memchr(p, '\t', (size_t)(end - p)) : end;
		if (!tab)
			return -EINVAL;
		f[k] = p;
		fl[k++] = (size_t)(tab - p);
		p = tab + 1;
	}
	char num[32];
	int64_t uid, access, at;
	for (int i = 0; i < 3; i++) {
		if (fl[i] == 0 || fl[i] >= sizeof num)
			return -EINVAL;
		memcpy(num, f[i], fl[i]);
		num[fl[i]] = 0;
		int64_t *t = i == 0 ? &uid : i == 1 ? &access : &at;
		int64_t max = i == 0 ? (int64_t)UINT32_MAX - 1 : i == 1 ? 3 : INT64_MAX;
		if (hv_parse_i64(num, 0, max, t) < 0)
			return -EINVAL;
	}
	*g = (fsa_grant){.uid = (uid_t)uid, .access = (file_system_access_server_access)access, .granted_at = at};
	g->exe = unescape(f[3], fl[3]);
	g->path = unescape(f[4], fl[4]);
	if (!g->exe || !g->path || g->exe[0] != '/' || fsa_check_path(g->path) < 0) {
		free(g->exe);
		free(g->path);
		return -EINVAL;
	}
	return 0;
}

int fsa_grants_parse(const char *text, size_t len, const char *file, fsa_grants *out)
{
	*out = (fsa_grants){0};
	size_t hl = strlen(HEADER);
	if (len < hl || memcmp(text, HEADER, hl) != 0) {
		hv_log_error("%s:1: not a grants file (\"haven-fsa-grants 1\" expected)", file);
		return -EINVAL;
	}
	unsigned lineno = 1;
	for (size_t pos = hl; pos < len;) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
		lineno++;
		fsa_grant g;
		if (memchr(text + pos, 0, ll) || parse_line(text + pos, ll, &g) < 0) {
			hv_log_warn("%s:%u: malformed grant, skipped", file, lineno);
		} else if (out->n >= FSA_MAX_GRANTS) {
			free(g.exe);
			free(g.path);
			hv_log_warn("%s:%u: more than %d grants, the rest skipped", file, lineno, FSA_MAX_GRANTS);
			break;
		} else {
			fsa_grant *nv = realloc(out->v, (out->n + 1) * sizeof *nv);
			if (!nv) {
				free(g.exe);
				free(g.path);
				fsa_grants_clear(out);
				return -ENOMEM;
			}
			out->v = nv;
			out->v[out->n++] = g;
		}
		pos += ll + 1;
	}
	return 0;
}

int fsa_grants_load(int dirfd)
{
	store_dir = dirfd;
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = hv_read_file_at(dirfd, FSA_GRANTS_FILE, 0, 16u << 20, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return hv_log_errno(r, "Failed to read %s/%s", fsa_state_dir, FSA_GRANTS_FILE);
	char where[PATH_MAX + 16];
	snprintf(where, sizeof where, "%s/%s", fsa_state_dir, FSA_GRANTS_FILE);
	fsa_grants g;
	if ((r = fsa_grants_parse((const char *)data, len, where, &g)) < 0)
		return r;
	fsa_grants_clear(&store);
	store = g;
	return 0;
}

static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == '\t' || *s == '\n')
			fprintf(f, "%%%02X", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

static int fill(int fd, void *ud)
{
	FILE *f = fdopen(dup(fd), "w");
	if (!f)
		return -errno;
	fputs(HEADER, f);
	for (size_t i = 0; i < store.n; i++) {
		const fsa_grant *g = &store.v[i];
		fprintf(f, "%u\t%u\t%lld\t", (unsigned)g->uid, (unsigned)g->access, (long long)g->granted_at);
		put_escaped(f, g->exe);
		fputc('\t', f);
		put_escaped(f, g->path);
		fputc('\n', f);
	}
	return fclose(f) == 0 ? 0 : -EIO;
}

int fsa_grants_save(void)
{
	if (store_dir < 0)
		return 0; /* --state-dir -: nothing kept */
	int r = hv_replace_file_at(store_dir, FSA_GRANTS_FILE, 0600, 0, fill, NULL, NULL);
	return r < 0 ? hv_log_errno(r, "Failed to write %s/%s", fsa_state_dir, FSA_GRANTS_FILE) : 0;
}

bool fsa_grants_allow(const fsa_identity *id, const char *path, file_system_access_server_access access)
{
	for (size_t i = 0; i < store.n; i++) {
		const fsa_grant *g = &store.v[i];
		if (g->uid == id->uid && g->access == access && !strcmp(g->exe, id->exe) && !strcmp(g->path, path))
			return true;
	}
	return false;
}

int fsa_grants_add(const fsa_identity *id, const char *path, file_system_access_server_access access)
{
	if (fsa_grants_allow(id, path, access))
		return 0;
	if (store.n >= FSA_MAX_GRANTS)
		return -ENOSPC;
	fsa_grant *nv = realloc(store.v, (store.n + 1) * sizeof *nv);
	if (!nv)
		return -ENOMEM;
	store.v = nv;
	fsa_grant g = {.uid = id->uid, .access = access, .granted_at = (int64_t)time(NULL),
		       .exe = strdup(id->exe), .path = strdup(path)};
	if (!g.exe || !g.path) {
		free(g.exe);
		free(g.path);
		return -ENOMEM;
	}
	store.v[store.n++] = g;
	return fsa_grants_save();
}

int fsa_grants_revoke(const char *exe, const char *path, uid_t uid, uint32_t *removed)
{
	size_t k = 0;
	*removed = 0;
	for (size_t i = 0; i < store.n; i++) {
		fsa_grant *g = &store.v[i];
		bool match = g->uid == uid && (!*exe || !strcmp(g->exe, exe)) && (!*path || !strcmp(g->path, path));
		if (match) {
			free(g->exe);
			free(g->path);
			(*removed)++;
		} else {
			store.v[k++] = *g;
		}
	}
	store.n = k;
	return *removed ? fsa_grants_save() : 0;
}
