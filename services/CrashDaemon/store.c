/* store.c — the crash store (store.h). Writers take an flock on the store
 * directory, so the daemon and kernel-mode instances (one per core) never
 * lose each other's index updates; files are replaced durably
 * (hv_replace_file_at). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "store.h"

#define INDEX_MAGIC "haven-crash-index 1"
#define ZSTD_LEVEL 3

HV_DEFINE_CLEANUP(ZSTD_CCtx *, ZSTD_freeCCtx)
HV_DEFINE_CLEANUP(ZSTD_DCtx *, ZSTD_freeDCtx)

void crash_signature_id(const char *signature, char id[CRASH_ID_LEN + 1])
{
	uint64_t h = 14695981039346656037ull;
	for (const char *p = signature; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 1099511628211ull;
	}
	snprintf(id, CRASH_ID_LEN + 1, "%016" PRIx64, h);
}

int crash_store_default_path(char **out)
{
	return hv_xdg_path(HV_XDG_STATE, "haven/CrashDaemon", out);
}

int crash_store_open(const char *path, crash_store **out)
{
	int r = hv_mkdir_p(path, 0700);
	if (r < 0)
		return r;
	_hv_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	crash_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path))) {
		free(s);
		return -ENOMEM;
	}
	s->dirfd = HV_TAKE_FD(fd);
	s->max_bytes = CRASH_DEFAULT_MAX_BYTES;
	s->max_reports = CRASH_DEFAULT_MAX_REPORTS;
	*out = s;
	return 0;
}

void crash_store_close(crash_store *s)
{
	if (!s)
		return;
	hv_close(&s->dirfd);
	free(s->path);
	free(s);
}

/* --- zstd -------------------------------------------------------------- */

int crash_zstd_write(int fd, const void *src, size_t len)
{
	size_t cap = ZSTD_compressBound(len);
	_hv_free_ void *dst = malloc(cap);
	if (!dst)
		return -ENOMEM;
	size_t n = ZSTD_compress(dst, cap, src, len, ZSTD_LEVEL);
	if (ZSTD_isError(n))
		return -EIO;
	return hv_write_full(fd, dst, n);
}

int crash_zstd_stream(int in, int out, uint64_t *raw_bytes, uint64_t max_raw)
{
	_hv_cleanup_(ZSTD_freeCCtxp) ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t inc = ZSTD_CStreamInSize(), outc = ZSTD_CStreamOutSize();
	_hv_free_ uint8_t *ib = malloc(inc);
	_hv_free_ uint8_t *ob = malloc(outc);
	if (!cc || !ib || !ob)
		return -ENOMEM;
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	uint64_t total = 0;
	for (;;) {
		ssize_t n = read(in, ib, inc);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		total += (uint64_t)n;
		if (total > max_raw)
			return -EFBIG;
		ZSTD_EndDirective mode = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
		ZSTD_inBuffer input = {ib, (size_t)n, 0};
		bool done;
		do {
			ZSTD_outBuffer output = {ob, outc, 0};
			size_t left = ZSTD_compressStream2(cc, &output, &input, mode);
			if (ZSTD_isError(left))
				return -EIO;
			int r = hv_write_full(out, ob, output.pos);
			if (r < 0)
				return r;
			done = mode == ZSTD_e_end ? left == 0 : input.pos == input.size;
		} while (!done);
		if (n == 0)
			break;
	}
	if (raw_bytes)
		*raw_bytes = total;
	return 0;
}

int crash_zstd_read(int fd, size_t max, char **out, size_t *len)
{
	_hv_cleanup_(ZSTD_freeDCtxp) ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t inc = ZSTD_DStreamInSize();
	_hv_free_ uint8_t *ib = malloc(inc);
	_hv_free_ char *buf = NULL;
	size_t cap = 0, used = 0;
	if (!dc || !ib)
		return -ENOMEM;
	size_t last = 0;
	for (;;) {
		ssize_t n = read(fd, ib, inc);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		ZSTD_inBuffer input = {ib, (size_t)n, 0};
		while (input.pos < input.size) {
			if (cap - used < 65536) {
				if (cap >= max + 1)
					return -EFBIG;
				cap = cap ? cap * 2 : 65536 * 2;
				char *nb = realloc(buf, cap + 1);
				if (!nb)
					return -ENOMEM;
				buf = nb;
			}
			ZSTD_outBuffer output = {buf + used, cap - used, 0};
			last = ZSTD_decompressStream(dc, &output, &input);
			if (ZSTD_isError(last))
				return -EBADMSG;
			used += output.pos;
			if (used > max)
				return -EFBIG;
		}
	}
	if (last != 0)
		return -EBADMSG; /* truncated frame */
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[used] = '\0';
	*out = HV_TAKE_PTR(buf);
	*len = used;
	return 0;
}

/* --- index ------------------------------------------------------------- */

static bool valid_id(const char *id)
{
	if (strlen(id) != CRASH_ID_LEN)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static int parse_line(const char *line, crash_entry *e)
{
	int exe_at = 0;
	memset(e, 0, sizeof(*e));
	if (sscanf(line, "%16s %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNu64 " %d %n", e->id,
		   &e->count, &e->first, &e->last, &e->bytes, &e->signo, &exe_at) != 6 ||
	    !exe_at || !valid_id(e->id) || e->count == 0 || e->signo < 0 || e->signo > 64)
		return -EINVAL;
	snprintf(e->exe, sizeof(e->exe), "%s", line + exe_at);
	return 0;
}

int crash_index_parse(const char *text, size_t len, const char *where, crash_entry **out,
		      size_t *n)
{
	crash_entry *v = NULL;
	size_t count = 0, lineno = 0;
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl ? (size_t)(nl - text - off) : len - off;
		char line[2048];
		lineno++;
		snprintf(line, sizeof(line), "%.*s", (int)HV_MIN(l, sizeof(line) - 1), text + off);
		off += l + 1;
		if (lineno == 1) {
			if (strcmp(line, INDEX_MAGIC)) {
				hv_log_warn("%s:1: not a crash index", where);
				free(v);
				return -EBADMSG;
			}
			continue;
		}
		if (!line[0])
			continue;
		crash_entry e;
		if (l >= sizeof(line) || parse_line(line, &e) < 0) {
			hv_log_warn("%s:%zu: bad index line, skipped", where, lineno);
			continue;
		}
		crash_entry *nv = realloc(v, (count + 1) * sizeof(*v));
		if (!nv) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
		v[count++] = e;
	}
	*out = v;
	*n = count;
	return 0;
}

int crash_store_list(crash_store *s, crash_entry **out, size_t *n)
{
	_hv_free_ uint8_t *text = NULL;
	size_t len = 0;
	int r = hv_read_file_at(s->dirfd, CRASH_INDEX, O_NOFOLLOW, CRASH_INDEX_MAX, &text, &len);
	if (r == -ENOENT) {
		*out = NULL;
		*n = 0;
		return 0;
	}
	if (r < 0)
		return r;
	char where[4200];
	snprintf(where, sizeof(where), "%s/%s", s->path, CRASH_INDEX);
	return crash_index_parse((const char *)text, len, where, out, n);
}

static int write_index(crash_store *s, const crash_entry *v, size_t n)
{
	_hv_free_ char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "%s\n", INDEX_MAGIC);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s %" PRIu64 " %" PRId64 " %" PRId64 " %" PRIu64 " %d %s\n", v[i].id,
			v[i].count, v[i].first, v[i].last, v[i].bytes, v[i].signo, v[i].exe);
	if (fclose(f) != 0)
		return -ENOMEM;
	return hv_replace_file_data_at(s->dirfd, CRASH_INDEX, 0600, 0, buf, len, NULL);
}

static void entry_files(const char *id, char report[64], char core[64])
{
	snprintf(report, 64, "%s.report.zst", id);
	snprintf(core, 64, "%s.core.zst", id);
}

static void remove_files(crash_store *s, const char *id)
{
	char report[64], core[64];
	entry_files(id, report, core);
	unlinkat(s->dirfd, report, 0);
	unlinkat(s->dirfd, core, 0);
}

/* Evict the least recently seen entries (never `keep`) past the quota. */
static void enforce_quota(crash_store *s, crash_entry *v, size_t *n, const char *keep)
{
	for (;;) {
		uint64_t bytes = 0;
		for (size_t i = 0; i < *n; i++)
			bytes += v[i].bytes;
		if (*n <= s->max_reports && bytes <= s->max_bytes)
			return;
		size_t old = SIZE_MAX;
		for (size_t i = 0; i < *n; i++)
			if (strcmp(v[i].id, keep) && (old == SIZE_MAX || v[i].last < v[old].last))
				old = i;
		if (old == SIZE_MAX)
			return;
		hv_log_info("quota: evicting crash %s (%s)", v[old].id, v[old].exe);
		remove_files(s, v[old].id);
		memmove(v + old, v + old + 1, (*n - old - 1) * sizeof(*v));
		(*n)--;
	}
}

struct report_fill {
	const char *data;
	size_t len;
};

static int fill_report(int fd, void *userdata)
{
	const struct report_fill *rf = userdata;
	return crash_zstd_write(fd, rf->data, rf->len);
}

static uint64_t file_size(int dirfd, const char *name)
{
	struct stat st;
	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)st.st_size : 0;
}

static void store_unlock(int *dirfd) { flock(*dirfd, LOCK_UN); }

int crash_store_add(crash_store *s, const char *signature, const char *report, size_t len,
		    int signo, const char *exe, int64_t when, const char *core_tmp,
		    char id[CRASH_ID_LEN + 1])
{
	crash_signature_id(signature, id);
	if (flock(s->dirfd, LOCK_EX) < 0)
		return -errno;
	_hv_cleanup_(store_unlock) int lock __attribute__((unused)) = s->dirfd;
	_hv_free_ crash_entry *v = NULL;
	size_t n = 0;
	int r = crash_store_list(s, &v, &n);
	if (r < 0)
		return r;
	char rname[64], cname[64];
	entry_files(id, rname, cname);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, id))
			continue;
		v[i].count++;
		v[i].last = when;
		if (core_tmp)
			unlinkat(s->dirfd, core_tmp, 0); /* the first core is kept */
		return write_index(s, v, n);
	}
	struct report_fill rf = {report, len};
	r = hv_replace_file_at(s->dirfd, rname, 0600, 0, fill_report, &rf, NULL);
	if (r < 0)
		return r;
	if (core_tmp && renameat(s->dirfd, core_tmp, s->dirfd, cname) < 0)
		return -errno;
	crash_entry *nv = realloc(v, (n + 1) * sizeof(*v));
	if (!nv)
		return -ENOMEM;
	v = nv;
	crash_entry *e = &v[n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, CRASH_ID_LEN + 1);
	e->count = 1;
	e->first = e->last = when;
	e->bytes = file_size(s->dirfd, rname) + file_size(s->dirfd, cname);
	e->signo = signo;
	/* One line per entry: a newline in a path would end it. */
	snprintf(e->exe, sizeof(e->exe), "%s", exe && *exe ? exe : "?");
	for (char *p = e->exe; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = '?';
	enforce_quota(s, v, &n, id);
	return write_index(s, v, n);
}

int crash_store_resolve(crash_store *s, const char *prefix, char id[CRASH_ID_LEN + 1])
{
	size_t pl = strlen(prefix);
	if (pl == 0 || pl > CRASH_ID_LEN || strspn(prefix, "0123456789abcdef") != pl)
		return -EINVAL;
	_hv_free_ crash_entry *v = NULL;
	size_t n = 0;
	int r = crash_store_list(s, &v, &n);
	if (r < 0)
		return r;
	int found = 0;
	for (size_t i = 0; i < n; i++)
		if (!strncmp(v[i].id, prefix, pl)) {
			memcpy(id, v[i].id, CRASH_ID_LEN + 1);
			found++;
		}
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

int crash_store_read(crash_store *s, const char *id, char **text, size_t *len)
{
	char rname[64], cname[64];
	if (!valid_id(id))
		return -EINVAL;
	entry_files(id, rname, cname);
	_hv_close_ int fd = hv_open_regular_at(s->dirfd, rname, 0);
	if (fd < 0)
		return fd;
	return crash_zstd_read(fd, CRASH_REPORT_MAX, text, len);
}

int crash_store_open_core(crash_store *s, const char *id)
{
	char rname[64], cname[64];
	if (!valid_id(id))
		return -EINVAL;
	entry_files(id, rname, cname);
	return hv_open_regular_at(s->dirfd, cname, 0);
}

int crash_store_remove(crash_store *s, const char *id)
{
	if (!valid_id(id))
		return -EINVAL;
	if (flock(s->dirfd, LOCK_EX) < 0)
		return -errno;
	_hv_cleanup_(store_unlock) int lock __attribute__((unused)) = s->dirfd;
	_hv_free_ crash_entry *v = NULL;
	size_t n = 0;
	int r = crash_store_list(s, &v, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(v[i].id, id))
			continue;
		remove_files(s, id);
		memmove(v + i, v + i + 1, (n - i - 1) * sizeof(*v));
		return write_index(s, v, n - 1);
	}
	return -ENOENT;
}

int crash_zstd_unstream(int in, int out)
{
	_hv_cleanup_(ZSTD_freeDCtxp) ZSTD_DCtx *dc = ZSTD_createDCtx();
	size_t inc = ZSTD_DStreamInSize(), outc = ZSTD_DStreamOutSize();
	_hv_free_ uint8_t *ib = malloc(inc);
	_hv_free_ uint8_t *ob = malloc(outc);
	if (!dc || !ib || !ob)
		return -ENOMEM;
	size_t last = 0;
	for (;;) {
		ssize_t n = read(in, ib, inc);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		ZSTD_inBuffer input = {ib, (size_t)n, 0};
		while (input.pos < input.size) {
			ZSTD_outBuffer output = {ob, outc, 0};
			last = ZSTD_decompressStream(dc, &output, &input);
			if (ZSTD_isError(last))
				return -EBADMSG;
			int r = hv_write_full(out, ob, output.pos);
			if (r < 0)
				return r;
		}
	}
	return last == 0 ? 0 : -EBADMSG;
}
