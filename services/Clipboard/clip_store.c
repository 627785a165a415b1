/* clip_store.c — clipboard entries, history and their crash-safe copy on
 * disk (see clip_store.h for the model).
 *
 * Disk layout of the state directory: one file per entry, named
 * "entry-<serial as 16 hex digits>", written as ".entry-<serial>.XXXXXX"
 * (hv_replace_file_at) then renamed, so a file either is whole or does not
 * exist:
 *
 *   "HVCLIP1\0", i64 time_ms, u32 nreps, u32 nmeta,
 *   nreps x (u32 len, mime bytes, u64 size), nmeta x (u32 len, key, u32 len, value),
 *   then the representations' data, in order.                (little endian)
 *
 * The serial is in the name, not the file, so restoring a history entry is a
 * rename.
 */
#include "clip_store.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#define CLIP_MAGIC "HVCLIP1"
#define CLIP_SEALS (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW)

struct clip_store {
	clip_entry **v; /* newest first */
	size_t count, cap;
	size_t max_entries;
	uint64_t max_bytes, total_bytes;
	uint64_t next_serial;
	int dirfd; /* -1: memory only */
};

/* --- validation --------------------------------------------------------- */

int clip_mime_valid(const char *mime)
{
	/* type "/" subtype [; params]: printable ASCII, no spaces in the type
	 * part, so it can name a file and go on a command line unquoted. */
	if (!mime || !*mime)
		return -EINVAL;
	size_t len = strlen(mime);
	if (len > CLIP_MAX_MIME_LEN)
		return -EINVAL;
	const char *semi = strchr(mime, ';');
	size_t typelen = semi ? (size_t)(semi - mime) : len;
	const char *slash = memchr(mime, '/', typelen);
	if (!slash || slash == mime || (size_t)(slash - mime) + 1 >= typelen)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)mime[i];
		if (c < 0x20 || c > 0x7e)
			return -EINVAL;
		if (i < typelen && (c == ' ' || c == '\\' || c == '"'))
			return -EINVAL;
	}
	if (memchr(slash + 1, '/', typelen - (size_t)(slash + 1 - mime)))
		return -EINVAL;
	return 0;
}

int clip_metadata_valid(const char *const *keys, const char *const *values, size_t n)
{
	if (n > CLIP_MAX_METADATA)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!keys[i] || !values[i] || !*keys[i])
			return -EINVAL;
		if (strlen(keys[i]) > CLIP_MAX_METADATA_KEY ||
		    strlen(values[i]) > CLIP_MAX_METADATA_VALUE)
			return -EINVAL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(keys[i], keys[j]) == 0)
				return -EINVAL;
	}
	return 0;
}

/* --- immutable data --------------------------------------------------- */

static int memfd_new(uint64_t size, int *out)
{
	_hv_close_ int fd = memfd_create("haven-clipboard", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	*out = HV_TAKE_FD(fd);
	return 0;
}

static int memfd_seal(int fd)
{
	if (fcntl(fd, F_ADD_SEALS, CLIP_SEALS | F_SEAL_SEAL) < 0)
		return -errno;
	return 0;
}

/* len bytes of src at src_off to dst at dst_off (sendfile: no copy
 * through user space; src's file offset is left alone). -EINVAL when src
 * ends first. */
static int copy_range(int src, off_t src_off, int dst, off_t dst_off, uint64_t len)
{
	if (lseek(dst, dst_off, SEEK_SET) < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = sendfile(dst, src, &src_off, HV_MIN(len, (uint64_t)1 << 30));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EINVAL; /* source shorter than it says */
		len -= (uint64_t)n;
	}
	return 0;
}

/* size bytes of src at src_off to dst at dst_off, copying only what src
 * has data for (SEEK_DATA/SEEK_HOLE) and leaving the rest a hole: a sparse
 * 500 MiB memfd costs its few pages, not 500 MiB, in memory and on disk.
 * dst must be long enough already (ftruncate), so a hole reads as zeros.
 * -EINVAL when src holds fewer than src_off + size bytes. */
static int copy_sparse(int src, off_t src_off, uint64_t size, int dst, off_t dst_off)
{
	/* SEEK_DATA moves src's offset: it may be a client's description. */
	off_t saved = lseek(src, 0, SEEK_CUR);
	off_t end = src_off + (off_t)size, pos = src_off;
	int r = 0;
	while (r == 0 && pos < end) {
		off_t data = lseek(src, pos, SEEK_DATA), hole = 0;
		if (data < 0 && errno == ENXIO)
			break; /* nothing but a hole up to the end of src */
		if (data < 0 || (data < end && (hole = lseek(src, data, SEEK_HOLE)) < 0)) {
			r = -errno;
			break;
		}
		if (data >= end)
			break;
		hole = HV_MIN(hole, end);
		r = copy_range(src, data, dst, dst_off + (data - src_off), (uint64_t)(hole - data));
		pos = hole;
	}
	struct stat st;
	if (r == 0 && fstat(src, &st) < 0)
		r = -errno;
	if (r == 0 && st.st_size < end)
		r = -EINVAL; /* truncated under us: not the data it claimed */
	if (saved >= 0)
		lseek(src, saved, SEEK_SET);
	return r;
}

/* Copy size bytes from src (at src_off) into a new sealed memfd. */
static int copy_to_sealed(int src, off_t src_off, uint64_t size, int *out)
{
	_hv_close_ int fd = -1;
	int r = memfd_new(size, &fd);
	if (r < 0)
		return r;
	r = copy_sparse(src, src_off, size, fd, 0);
	if (r < 0)
		return r;
	r = memfd_seal(fd);
	if (r < 0)
		return r;
	*out = HV_TAKE_FD(fd);
	return 0;
}

int clip_adopt_fd(int fd, uint64_t size, int *out_fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < size)
		return -EINVAL;
	if (size > CLIP_MAX_DATA)
		return -EFBIG;
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals >= 0 && (seals & CLIP_SEALS) == CLIP_SEALS && (uint64_t)st.st_size == size) {
		/* Nobody can change it any more: share it, whatever its size. */
		int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (d < 0)
			return -errno;
		*out_fd = d;
		return 0;
	}
	/* The sender may still write to it: keep a private, sealed copy so
	 * what we acknowledged is what every reader gets. */
	return copy_to_sealed(fd, 0, size, out_fd);
}

int clip_memfd_from(const void *data, size_t size, int *out_fd)
{
	_hv_close_ int fd = -1;
	int r = memfd_new(size, &fd);
	if (r < 0)
		return r;
	r = hv_write_full(fd, data, size);
	if (r < 0)
		return r;
	r = memfd_seal(fd);
	if (r < 0)
		return r;
	*out_fd = HV_TAKE_FD(fd);
	return 0;
}

/* --- entries ------------------------------------------------------------ */

static void entry_free(clip_entry *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nreps; i++) {
		free(e->reps[i].mime);
		hv_close(&e->reps[i].fd);
	}
	for (size_t i = 0; i < e->nmeta; i++) {
		free(e->meta_keys[i]);
		free(e->meta_values[i]);
	}
	free(e->meta_keys);
	free(e->meta_values);
	free(e);
}

static void entry_freep(clip_entry **e) { entry_free(*e); }
#define _entry_free_ _hv_cleanup_(entry_freep)

static int entry_set_meta(clip_entry *e, const char *const *keys, const char *const *values,
			  size_t n)
{
	if (n == 0)
		return 0;
	e->meta_keys = calloc(n, sizeof(char *));
	e->meta_values = calloc(n, sizeof(char *));
	if (!e->meta_keys || !e->meta_values)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		e->meta_keys[i] = strdup(keys[i]);
		e->meta_values[i] = strdup(values[i]);
		e->nmeta = i + 1;
		if (!e->meta_keys[i] || !e->meta_values[i])
			return -ENOMEM;
	}
	return 0;
}

static int entry_add_rep(clip_entry *e, int *fd, uint64_t size, const char *mime)
{
	if (e->nreps >= CLIP_MAX_REPRESENTATIONS)
		return -E2BIG;
	char *m = strdup(mime);
	if (!m)
		return -ENOMEM;
	e->reps[e->nreps++] = (clip_rep){.mime = m, .fd = HV_TAKE_FD(*fd), .size = size};
	e->bytes += size;
	return 0;
}

const clip_rep *clip_entry_rep(const clip_entry *e, const char *mime)
{
	if (!e || e->nreps == 0)
		return NULL;
	if (!mime || !*mime)
		return &e->reps[0];
	for (size_t i = 0; i < e->nreps; i++)
		if (strcmp(e->reps[i].mime, mime) == 0)
			return &e->reps[i];
	return NULL;
}

/* --- disk --------------------------------------------------------------- */

typedef struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
} wbuf;

static void wb_put(wbuf *b, const void *data, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = HV_MAX(b->cap * 2, b->len + n + 256);
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
}
static void wb_u32(wbuf *b, uint32_t v)
{
	v = htole32(v);
	wb_put(b, &v, 4);
}
static void wb_u64(wbuf *b, uint64_t v)
{
	v = htole64(v);
	wb_put(b, &v, 8);
}
static void wb_str(wbuf *b, const char *s)
{
	size_t n = strlen(s);
	wb_u32(b, (uint32_t)n);
	wb_put(b, s, n);
}

static void entry_name(char *buf, size_t size, const char *prefix, uint64_t serial)
{
	snprintf(buf, size, "%s%016" PRIx64, prefix, serial);
}

static int sync_dir(clip_store *s)
{
	if (fsync(s->dirfd) < 0)
		return hv_log_errno(-errno, "Failed to fsync the clipboard state directory");
	return 0;
}

struct persist {
	const clip_entry *e;
	const uint8_t *hdr;
	size_t hdr_len;
};

/* The entry file's content: header, then each representation's data,
 * sparse where the data is (holes stay holes). */
static int persist_fill(int fd, void *userdata)
{
	const struct persist *p = userdata;
	int r = hv_write_full(fd, p->hdr, p->hdr_len);
	off_t off = (off_t)p->hdr_len;
	if (r >= 0 && ftruncate(fd, off + (off_t)p->e->bytes) < 0)
		r = -errno;
	for (size_t i = 0; r >= 0 && i < p->e->nreps; i++) {
		r = copy_sparse(p->e->reps[i].fd, 0, p->e->reps[i].size, fd, off);
		off += (off_t)p->e->reps[i].size;
	}
	return r;
}

/* Write e to "entry-<serial>" atomically and durably. */
static int entry_persist(clip_store *s, const clip_entry *e)
{
	if (s->dirfd < 0)
		return 0;
	char name[64];
	entry_name(name, sizeof(name), "entry-", e->serial);

	wbuf b = {0};
	wb_put(&b, CLIP_MAGIC, 8);
	wb_u64(&b, (uint64_t)e->time_ms);
	wb_u32(&b, (uint32_t)e->nreps);
	wb_u32(&b, (uint32_t)e->nmeta);
	for (size_t i = 0; i < e->nreps; i++) {
		wb_str(&b, e->reps[i].mime);
		wb_u64(&b, e->reps[i].size);
	}
	for (size_t i = 0; i < e->nmeta; i++) {
		wb_str(&b, e->meta_keys[i]);
		wb_str(&b, e->meta_values[i]);
	}
	_hv_free_ uint8_t *hdr = b.p;
	if (b.err)
		return b.err;
	struct persist p = {e, hdr, b.len};
	int r = hv_replace_file_at(s->dirfd, name, 0600, 0, persist_fill, &p, NULL);
	if (r < 0)
		return hv_log_errno(r, "Failed to store clipboard entry %" PRIu64, e->serial);
	return 0;
}

/* 0, or a negative errno (logged) when the file is there and stays. */
static int entry_unlink(clip_store *s, uint64_t serial)
{
	if (s->dirfd < 0)
		return 0;
	char name[64];
	entry_name(name, sizeof(name), "entry-", serial);
	if (unlinkat(s->dirfd, name, 0) < 0 && errno != ENOENT) {
		int r = -errno;
		hv_log_warn("could not remove clipboard file %s: %s", name, strerror(-r));
		return r;
	}
	return 0;
}

typedef struct rbuf {
	const uint8_t *p, *end;
	bool bad;
} rbuf;

static uint32_t rb_u32(rbuf *b)
{
	uint32_t v = 0;
	if (b->end - b->p < 4) {
		b->bad = true;
		return 0;
	}
	memcpy(&v, b->p, 4);
	b->p += 4;
	return le32toh(v);
}
static uint64_t rb_u64(rbuf *b)
{
	uint64_t v = 0;
	if (b->end - b->p < 8) {
		b->bad = true;
		return 0;
	}
	memcpy(&v, b->p, 8);
	b->p += 8;
	return le64toh(v);
}
/* A length-prefixed string, copied and NUL-terminated. */
static char *rb_str(rbuf *b, size_t max)
{
	uint32_t n = rb_u32(b);
	if (b->bad || n > max || (size_t)(b->end - b->p) < n) {
		b->bad = true;
		return NULL;
	}
	if (memchr(b->p, 0, n)) {
		b->bad = true;
		return NULL;
	}
	char *s = strndup((const char *)b->p, n);
	if (!s)
		b->bad = true;
	b->p += n;
	return s;
}

/* Parse one entry file; -EBADMSG if it is not one we wrote whole. */
static int entry_load(int dirfd, const char *name, uint64_t serial, clip_entry **out)
{
	/* Never follows a symlink, never blocks on a FIFO planted there. */
	_hv_close_ int fd = hv_open_regular_at(dirfd, name, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 24)
		return -EBADMSG;
	/* Read the header part only: at most this much precedes the data. */
	size_t hmax = HV_MIN((size_t)st.st_size,
			     (size_t)24 + CLIP_MAX_REPRESENTATIONS * (12 + CLIP_MAX_MIME_LEN) +
				     CLIP_MAX_METADATA *
					     (8 + CLIP_MAX_METADATA_KEY + CLIP_MAX_METADATA_VALUE));
	_hv_free_ uint8_t *hdr = malloc(hmax);
	if (!hdr)
		return -ENOMEM;
	int r = hv_read_full(fd, hdr, hmax);
	if (r < 0)
		return r;
	if (memcmp(hdr, CLIP_MAGIC, 8) != 0)
		return -EBADMSG;
	rbuf b = {hdr + 8, hdr + hmax, false};
	_entry_free_ clip_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->serial = serial;
	e->time_ms = (int64_t)rb_u64(&b);
	uint32_t nreps = rb_u32(&b), nmeta = rb_u32(&b);
	if (b.bad || nreps == 0 || nreps > CLIP_MAX_REPRESENTATIONS || nmeta > CLIP_MAX_METADATA)
		return -EBADMSG;
	char *mimes[CLIP_MAX_REPRESENTATIONS] = {0};
	uint64_t sizes[CLIP_MAX_REPRESENTATIONS];
	uint64_t total = 0;
	for (uint32_t i = 0; i < nreps; i++) {
		mimes[i] = rb_str(&b, CLIP_MAX_MIME_LEN);
		sizes[i] = rb_u64(&b);
		if (b.bad || clip_mime_valid(mimes[i]) < 0 || sizes[i] > (uint64_t)st.st_size)
			b.bad = true;
		/* one entry never holds a type twice (clip_store_add refuses) */
		for (uint32_t j = 0; !b.bad && j < i; j++)
			if (strcmp(mimes[i], mimes[j]) == 0)
				b.bad = true;
		total += sizes[i];
	}
	if (!b.bad && nmeta) {
		e->meta_keys = calloc(nmeta, sizeof(char *));
		e->meta_values = calloc(nmeta, sizeof(char *));
		if (!e->meta_keys || !e->meta_values)
			b.bad = true;
		for (uint32_t i = 0; !b.bad && i < nmeta; i++) {
			e->meta_keys[i] = rb_str(&b, CLIP_MAX_METADATA_KEY);
			e->meta_values[i] = rb_str(&b, CLIP_MAX_METADATA_VALUE);
			e->nmeta = i + 1;
		}
		/* only what a client could have set: no empty or repeated keys */
		if (!b.bad && clip_metadata_valid((const char *const *)e->meta_keys,
						  (const char *const *)e->meta_values, nmeta) < 0)
			b.bad = true;
		/* it goes out as IPC Strings, which are UTF-8 */
		for (uint32_t i = 0; !b.bad && i < nmeta; i++)
			if (!hv_utf8_valid(e->meta_keys[i], strlen(e->meta_keys[i])) ||
			    !hv_utf8_valid(e->meta_values[i], strlen(e->meta_values[i])))
				b.bad = true;
	}
	off_t off = (off_t)(b.p - hdr);
	if (!b.bad && (uint64_t)off + total != (uint64_t)st.st_size)
		b.bad = true; /* torn or padded: not a file we renamed into place */
	for (uint32_t i = 0; !b.bad && i < nreps; i++) {
		int dfd = -1;
		r = copy_to_sealed(fd, off, sizes[i], &dfd);
		if (r < 0)
			b.bad = true;
		else if (entry_add_rep(e, &dfd, sizes[i], mimes[i]) < 0) {
			close(dfd);
			b.bad = true;
		}
		off += (off_t)sizes[i];
	}
	for (uint32_t i = 0; i < nreps; i++)
		free(mimes[i]);
	if (b.bad)
		return r < 0 ? r : -EBADMSG;
	*out = HV_TAKE_PTR(e);
	return 0;
}

static int cmp_serial_desc(const void *a, const void *b)
{
	uint64_t x = (*(clip_entry *const *)a)->serial, y = (*(clip_entry *const *)b)->serial;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Room for one more entry in s->v. */
static int store_reserve(clip_store *s)
{
	if (s->count < s->cap)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : 16;
	clip_entry **v = reallocarray(s->v, cap, sizeof(*v));
	if (!v)
		return -ENOMEM;
	s->v = v;
	s->cap = cap;
	return 0;
}

/* The serial of an entry file's name, or 0 when it is not one. Only the
 * name we write (lowercase hex): "entry-…A" and "entry-…a" would be two
 * entries with one serial, and the uppercase one could never be renamed
 * or removed by its serial. */
static uint64_t entry_serial(const char *name)
{
	if (strncmp(name, "entry-", 6) != 0)
		return 0;
	char *end;
	errno = 0;
	uint64_t serial = strtoull(name + 6, &end, 16);
	if (errno || *end || end != name + 22 || serial == 0)
		return 0;
	char canon[64];
	entry_name(canon, sizeof(canon), "entry-", serial);
	return strcmp(canon, name) == 0 ? serial : 0;
}

HV_DEFINE_CLEANUP(DIR *, closedir)

static int store_load(clip_store *s)
{
	_hv_cleanup_(closedirp) DIR *d = hv_opendir_at(s->dirfd);
	if (!d)
		return -errno;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, ".entry-", 7) == 0 || strncmp(de->d_name, ".tmp-", 5) == 0) {
			/* A write that never got acknowledged: hv_replace_file_at's
			 * temp file ".entry-<serial>.XXXXXX" (".tmp-<serial>" from
			 * a Clipboard before it). */
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		uint64_t serial = entry_serial(de->d_name);
		if (!serial)
			continue;
		_entry_free_ clip_entry *e = NULL;
		int r = entry_load(s->dirfd, de->d_name, serial, &e);
		if (r < 0) {
			hv_log_warn("removing unreadable clipboard file %s: %s", de->d_name,
				    r == -EINVAL ? "not a regular file"
				    : r == -ELOOP ? "a symbolic link"
						  : strerror(-r));
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if ((r = store_reserve(s)) < 0)
			return r;
		s->total_bytes += e->bytes;
		s->v[s->count++] = HV_TAKE_PTR(e);
		if (serial >= s->next_serial)
			s->next_serial = serial + 1;
	}
	if (s->count)
		qsort(s->v, s->count, sizeof(*s->v), cmp_serial_desc);
	return 0;
}

/* --- the store ---------------------------------------------------------- */

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drop the oldest entries beyond the bounds; never the current one. */
static void store_trim(clip_store *s)
{
	while (s->count > 1 && (s->count > s->max_entries || s->total_bytes > s->max_bytes)) {
		clip_entry *e = s->v[--s->count];
		s->total_bytes -= e->bytes;
		entry_unlink(s, e->serial);
		entry_free(e);
	}
}

int clip_store_new(const char *state_dir, size_t max_entries, uint64_t max_bytes,
		   clip_store **out)
{
	if (max_entries == 0 || max_entries > CLIP_MAX_HISTORY)
		return -EINVAL;
	_hv_cleanup_(clip_store_freep) clip_store *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->max_entries = max_entries;
	s->max_bytes = max_bytes ? max_bytes : CLIP_DEFAULT_MAX_BYTES;
	s->next_serial = 1;
	s->dirfd = -1;
	if (state_dir) {
		if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
			return hv_log_errno(-errno, "Failed to create %s", state_dir);
		s->dirfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->dirfd < 0)
			return hv_log_errno(-errno, "Failed to open %s", state_dir);
		int r = store_load(s);
		if (r < 0)
			return hv_log_errno(r, "Failed to load the clipboard from %s", state_dir);
		store_trim(s);
	}
	*out = HV_TAKE_PTR(s);
	return 0;
}

void clip_store_free(clip_store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		entry_free(s->v[i]);
	free(s->v);
	hv_close(&s->dirfd);
	free(s);
}

int clip_store_set_limits(clip_store *s, size_t max_entries, uint64_t max_bytes)
{
	if (max_entries == 0 || max_entries > CLIP_MAX_HISTORY)
		return -EINVAL;
	s->max_entries = max_entries;
	if (max_bytes)
		s->max_bytes = max_bytes;
	store_trim(s);
	return 0;
}

size_t clip_store_max_entries(const clip_store *s) { return s->max_entries; }

static int store_insert_front(clip_store *s, clip_entry *e)
{
	int r = store_reserve(s);
	if (r < 0)
		return r;
	memmove(s->v + 1, s->v, s->count * sizeof(*s->v));
	s->v[0] = e;
	s->count++;
	s->total_bytes += e->bytes;
	return 0;
}

int clip_store_set(clip_store *s, int data_fd, uint64_t size, const char *mime,
		   const char *const *meta_keys, const char *const *meta_values, size_t nmeta,
		   uint64_t *serial_out)
{
	_hv_close_ int fd = data_fd;
	int r = clip_mime_valid(mime);
	if (r < 0)
		return r;
	r = clip_metadata_valid(meta_keys, meta_values, nmeta);
	if (r < 0)
		return r;
	_entry_free_ clip_entry *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	/* Spent even if the write fails: a serial is never handed out twice. */
	e->serial = s->next_serial++;
	e->time_ms = wall_ms();
	r = entry_add_rep(e, &fd, size, mime);
	if (r < 0)
		return r;
	r = entry_set_meta(e, meta_keys, meta_values, nmeta);
	if (r < 0)
		return r;
	/* Durable first: only what is on disk gets acknowledged. */
	r = entry_persist(s, e);
	if (r < 0)
		return r;
	r = store_insert_front(s, e);
	if (r < 0) {
		entry_unlink(s, e->serial);
		return r;
	}
	if (serial_out)
		*serial_out = e->serial;
	e = NULL;
	store_trim(s);
	return 0;
}

int clip_store_add(clip_store *s, uint64_t serial, int data_fd, uint64_t size,
		   const char *mime)
{
	_hv_close_ int fd = data_fd;
	int r = clip_mime_valid(mime);
	if (r < 0)
		return r;
	clip_entry *e = s->count ? s->v[0] : NULL;
	if (!e || e->serial != serial)
		return -ESTALE;
	if (clip_entry_rep(e, mime))
		return -EEXIST;
	r = entry_add_rep(e, &fd, size, mime);
	if (r < 0)
		return r;
	s->total_bytes += size;
	r = entry_persist(s, e);
	if (r < 0) {
		/* Undo: the reply will say it failed, so it must not be there. */
		clip_rep *rep = &e->reps[--e->nreps];
		e->bytes -= rep->size;
		s->total_bytes -= rep->size;
		free(rep->mime);
		hv_close(&rep->fd);
		return r;
	}
	store_trim(s);
	return 0;
}

int clip_store_restore(clip_store *s, uint64_t serial, uint64_t *serial_out)
{
	size_t i;
	for (i = 0; i < s->count; i++)
		if (s->v[i]->serial == serial)
			break;
	if (i == s->count)
		return -ENOENT;
	clip_entry *e = s->v[i];
	uint64_t ns = s->next_serial++; /* spent even if the rename fails */
	if (s->dirfd >= 0) {
		char from[64], to[64];
		entry_name(from, sizeof(from), "entry-", e->serial);
		entry_name(to, sizeof(to), "entry-", ns);
		if (renameat(s->dirfd, from, s->dirfd, to) < 0)
			return hv_log_errno(-errno, "Failed to rename %s", from);
		int r = sync_dir(s);
		if (r < 0) {
			/* Not acknowledged, so not done: the old name again. */
			if (renameat(s->dirfd, to, s->dirfd, from) < 0)
				hv_log_warn("could not rename %s back: %m", to);
			return r;
		}
	}
	memmove(s->v + 1, s->v, i * sizeof(*s->v));
	s->v[0] = e;
	e->serial = ns;
	if (serial_out)
		*serial_out = ns;
	return 0;
}

int clip_store_clear_history(clip_store *s)
{
	/* Oldest first, each gone from disk before it goes from memory: when
	 * one cannot be removed (a read-only directory), the history is still
	 * what the disk holds, and the caller is told. */
	while (s->count > 1) {
		clip_entry *e = s->v[s->count - 1];
		int r = entry_unlink(s, e->serial);
		if (r < 0)
			return r;
		s->count--;
		s->total_bytes -= e->bytes;
		entry_free(e);
	}
	return s->dirfd >= 0 ? sync_dir(s) : 0;
}

const clip_entry *clip_store_current(const clip_store *s)
{
	return s->count ? s->v[0] : NULL;
}

const clip_entry *clip_store_at(const clip_store *s, size_t index)
{
	return index < s->count ? s->v[index] : NULL;
}

size_t clip_store_count(const clip_store *s) { return s->count; }

const clip_entry *clip_store_find(const clip_store *s, uint64_t serial)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->v[i]->serial == serial)
			return s->v[i];
	return NULL;
}
