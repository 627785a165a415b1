/* lib/ipc/wire.c — the wire format's value layer: endpoint magic, the
 * encoder and the bounds-checked decoder, received-message lifetime, and
 * shared-memory buffers/bitmaps (memfd + seals).
 * The format itself is specified in docs/ipc-wire-format.md. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "frame.h"
#include "msg.h"

/* Buffer flags on the wire. */
#define HV_BUF_FLAG_READONLY 0x01u
#define HV_BUF_FLAG_NULL 0x02u /* an empty hv_buffer (fd -1): no fd follows */

uint32_t hv_ipc_magic(const char *endpoint_name)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)endpoint_name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h;
}

/* --- encoder ------------------------------------------------------------ */
void hv_enc_init(hv_enc *e, const hv_endpoint *ep, uint16_t message_id, enum hv_msg_kind kind)
{
	e->endpoint = ep;
	e->message_id = message_id;
	e->kind = (uint8_t)kind;
	e->nfds = 0;
	e->err = 0;
	e->src = NULL;
	e->buf = e->inline_buf;
	e->cap = sizeof(e->inline_buf);
	e->len = HV_IPC_HEADER_SIZE;
	memset(e->buf, 0, HV_IPC_HEADER_SIZE);
}

void hv_enc_release(hv_enc *e)
{
	if (e->buf && e->buf != e->inline_buf)
		free(e->buf);
	e->buf = e->inline_buf;
	e->cap = sizeof(e->inline_buf);
}

void *hv_enc_reserve(hv_enc *e, size_t n)
{
	if (e->err)
		return NULL;
	size_t need;
	if (!hv_add_ok(e->len, n, &need) || need - HV_IPC_HEADER_SIZE > HV_IPC_MAX_MESSAGE_SIZE) {
		e->err = -EMSGSIZE;
		return NULL;
	}
	if (need > e->cap) {
		size_t cap = e->cap * 2;
		while (cap < need)
			cap *= 2;
		uint8_t *nb;
		if (e->buf == e->inline_buf) {
			nb = malloc(cap);
			if (nb)
				memcpy(nb, e->buf, e->len);
		} else {
			nb = realloc(e->buf, cap);
		}
		if (!nb) {
			e->err = -ENOMEM;
			return NULL;
		}
		e->buf = nb;
		e->cap = cap;
	}
	void *p = e->buf + e->len;
	e->len = need;
	return p;
}

static inline void enc_raw(hv_enc *e, const void *v, size_t n)
{
	void *p = hv_enc_reserve(e, n);
	if (p)
		memcpy(p, v, n);
}

/* Little-endian hosts only (x86-64, arm64): the wire order is the memory
 * order, so values are memcpy'd. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Haven's wire format assumes a little-endian host");

void hv_enc_bool(hv_enc *e, bool v) { hv_enc_u8(e, v ? 1 : 0); }
void hv_enc_u8(hv_enc *e, uint8_t v) { enc_raw(e, &v, 1); }
void hv_enc_u16(hv_enc *e, uint16_t v) { enc_raw(e, &v, 2); }
void hv_enc_u32(hv_enc *e, uint32_t v) { enc_raw(e, &v, 4); }
void hv_enc_u64(hv_enc *e, uint64_t v) { enc_raw(e, &v, 8); }
void hv_enc_i8(hv_enc *e, int8_t v) { enc_raw(e, &v, 1); }
void hv_enc_i16(hv_enc *e, int16_t v) { enc_raw(e, &v, 2); }
void hv_enc_i32(hv_enc *e, int32_t v) { enc_raw(e, &v, 4); }
void hv_enc_i64(hv_enc *e, int64_t v) { enc_raw(e, &v, 8); }
void hv_enc_f32(hv_enc *e, float v) { enc_raw(e, &v, 4); }
void hv_enc_f64(hv_enc *e, double v) { enc_raw(e, &v, 8); }

static void enc_len_prefixed(hv_enc *e, const void *data, size_t len, bool nul)
{
	if (e->err)
		return;
	if (len > UINT32_MAX) {
		e->err = -EMSGSIZE;
		return;
	}
	uint8_t *p = hv_enc_reserve(e, 4 + len + (nul ? 1 : 0));
	if (!p)
		return;
	uint32_t l = (uint32_t)len;
	memcpy(p, &l, 4);
	if (len)
		memcpy(p + 4, data, len);
	if (nul)
		p[4 + len] = 0;
}

void hv_enc_string(hv_enc *e, const char *s)
{
	if (e->err)
		return;
	if (!s) {
		e->err = -EINVAL;
		return;
	}
	const hv_msg *m = e->src;
	for (unsigned i = 0; m && i < m->nchecked; i++)
		if (m->checked[i] == s) {
			enc_len_prefixed(e, s, m->checked_len[i], true);
			return;
		}
	size_t len = strlen(s);
	if (!hv_utf8_valid(s, len)) {
		e->err = -EILSEQ;
		return;
	}
	enc_len_prefixed(e, s, len, true);
}

void hv_enc_bytestring(hv_enc *e, const char *s)
{
	if (e->err)
		return;
	if (!s) {
		e->err = -EINVAL;
		return;
	}
	enc_len_prefixed(e, s, strlen(s), true);
}

void hv_enc_bytes(hv_enc *e, const void *data, size_t len)
{
	if (!data && len) {
		if (!e->err)
			e->err = -EINVAL;
		return;
	}
	enc_len_prefixed(e, data, len, false);
}

void hv_enc_count(hv_enc *e, size_t count)
{
	if (count > UINT32_MAX) {
		if (!e->err)
			e->err = -EMSGSIZE;
		return;
	}
	hv_enc_u32(e, (uint32_t)count);
}

void hv_enc_present(hv_enc *e, bool present) { hv_enc_u8(e, present ? 1 : 0); }

void hv_enc_fd(hv_enc *e, int fd)
{
	if (e->err)
		return;
	if (fd < 0) {
		e->err = -EBADF;
		return;
	}
	if (e->nfds >= HV_IPC_MAX_FDS_PER_MESSAGE) {
		e->err = -EMSGSIZE;
		return;
	}
	e->fds[e->nfds++] = fd;
}

void hv_enc_buffer(hv_enc *e, const hv_buffer *b)
{
	if (e->err)
		return;
	if (!b || b->fd < 0) {
		hv_enc_u64(e, 0);
		hv_enc_u8(e, HV_BUF_FLAG_NULL);
		return;
	}
	hv_enc_u64(e, b->size);
	hv_enc_u8(e, b->readonly ? HV_BUF_FLAG_READONLY : 0);
	hv_enc_fd(e, b->fd);
}

void hv_enc_bitmap(hv_enc *e, const hv_bitmap *b)
{
	if (e->err)
		return;
	if (!b) {
		e->err = -EINVAL;
		return;
	}
	hv_enc_u32(e, b->width);
	hv_enc_u32(e, b->height);
	hv_enc_u32(e, b->stride);
	hv_enc_u32(e, b->format);
	hv_enc_buffer(e, &b->buffer);
}

void hv_enc_finalize(hv_enc *e, uint8_t kind, uint32_t request_id)
{
	/* Stored field by field (the layout of hv_frame_hdr_write): building an
	 * hv_frame_hdr first costs a third of it, once per message sent. */
	uint8_t *p = e->buf;
	uint32_t len = (uint32_t)(e->len - HV_IPC_HEADER_SIZE);
	uint32_t magic = e->endpoint ? e->endpoint->magic : 0;
	memcpy(p, &len, 4);
	memcpy(p + 4, &magic, 4);
	memcpy(p + 8, &e->message_id, 2);
	p[10] = kind;
	p[11] = e->nfds;
	memcpy(p + 12, &request_id, 4);
}

/* --- decoder ------------------------------------------------------------ */
static inline bool dec_fail(hv_dec *d, int err)
{
	if (!d->err)
		d->err = err;
	return false;
}

void hv_dec_init(hv_dec *d, hv_msg *msg)
{
	d->msg = msg;
	d->p = msg->payload;
	d->end = msg->payload + msg->len;
	d->next_fd = 0;
	d->err = 0;
	msg->fds_consumed = 0;
}

static inline bool dec_raw(hv_dec *d, void *v, size_t n)
{
	if (d->err)
		return false;
	if ((size_t)(d->end - d->p) < n)
		return dec_fail(d, -EBADMSG);
	memcpy(v, d->p, n);
	d->p += n;
	return true;
}

bool hv_dec_bool(hv_dec *d, bool *v)
{
	uint8_t b;
	if (!dec_raw(d, &b, 1))
		return false;
	if (b > 1)
		return dec_fail(d, -EBADMSG);
	*v = b;
	return true;
}
bool hv_dec_u8(hv_dec *d, uint8_t *v) { return dec_raw(d, v, 1); }
bool hv_dec_u16(hv_dec *d, uint16_t *v) { return dec_raw(d, v, 2); }
bool hv_dec_u32(hv_dec *d, uint32_t *v) { return dec_raw(d, v, 4); }
bool hv_dec_u64(hv_dec *d, uint64_t *v) { return dec_raw(d, v, 8); }
bool hv_dec_i8(hv_dec *d, int8_t *v) { return dec_raw(d, v, 1); }
bool hv_dec_i16(hv_dec *d, int16_t *v) { return dec_raw(d, v, 2); }
bool hv_dec_i32(hv_dec *d, int32_t *v) { return dec_raw(d, v, 4); }
bool hv_dec_i64(hv_dec *d, int64_t *v) { return dec_raw(d, v, 8); }
bool hv_dec_f32(hv_dec *d, float *v) { return dec_raw(d, v, 4); }
bool hv_dec_f64(hv_dec *d, double *v) { return dec_raw(d, v, 8); }

/* u32 length, bytes and (for strings) the NUL the wire carries. */
static bool dec_len_prefixed(hv_dec *d, const uint8_t **data, uint32_t *len, bool nul)
{
	uint32_t l;
	if (!dec_raw(d, &l, 4))
		return false;
	size_t need = (size_t)l + (nul ? 1 : 0);
	if ((size_t)(d->end - d->p) < need)
		return dec_fail(d, -EBADMSG);
	if (nul && (d->p[l] != 0 || memchr(d->p, 0, l)))
		return dec_fail(d, -EBADMSG);
	*data = d->p;
	*len = l;
	d->p += need;
	return true;
}

bool hv_dec_string(hv_dec *d, const char **v)
{
	const uint8_t *data;
	uint32_t len;
	if (!dec_len_prefixed(d, &data, &len, true))
		return false;
	if (!hv_utf8_valid((const char *)data, len))
		return dec_fail(d, -EILSEQ);
	hv_msg *m = d->msg;
	if (m->nchecked < HV_ARRAY_SIZE(m->checked)) {
		m->checked[m->nchecked] = (const char *)data;
		m->checked_len[m->nchecked++] = len;
	}
	*v = (const char *)data;
	return true;
}

bool hv_dec_bytestring(hv_dec *d, const char **v)
{
	const uint8_t *data;
	uint32_t len;
	if (!dec_len_prefixed(d, &data, &len, true))
		return false;
	*v = (const char *)data;
	return true;
}

bool hv_dec_bytes(hv_dec *d, hv_bytes *v)
{
	const uint8_t *data;
	uint32_t len;
	if (!dec_len_prefixed(d, &data, &len, false))
		return false;
	v->data = data;
	v->len = len;
	return true;
}

bool hv_dec_count(hv_dec *d, size_t min_wire_size, size_t *count)
{
	uint32_t c;
	if (!dec_raw(d, &c, 4))
		return false;
	size_t left = (size_t)(d->end - d->p);
	if (min_wire_size > 0) {
		if (c > left / min_wire_size)
			return dec_fail(d, -EBADMSG);
	} else {
		/* Elements with no payload bytes (fds only, or empty structs):
		 * bounded by what the message can still hold. */
		size_t fds_left = d->msg->nfds - d->next_fd;
		if (c > left + fds_left)
			return dec_fail(d, -EBADMSG);
	}
	*count = c;
	return true;
}

bool hv_dec_present(hv_dec *d, bool *present) { return hv_dec_bool(d, present); }

bool hv_dec_fd(hv_dec *d, int *fd)
{
	if (d->err)
		return false;
	if (d->next_fd >= d->msg->nfds || d->msg->fds[d->next_fd] < 0)
		return dec_fail(d, -EBADMSG);
	*fd = d->msg->fds[d->next_fd++];
	d->msg->fds_consumed = d->next_fd;
	return true;
}

/* Check that a received memfd can be trusted with `size` bytes and, if
 * read-only, cannot be written by anyone (else a peer could change data
 * under us after validation, or shrink it and SIGBUS us). */
/* --- mappings shared between buffer handles -----------------------------
 * A memfd that comes back (a reply carrying the buffer the caller sent,
 * as EchoBuffer does, or an image a client keeps passing) is recognised by
 * st_dev/st_ino and given the mapping this process already has, with a
 * reference count, instead of a new mmap (~1.5 us for any size) and a later
 * munmap. Only live mappings are shared: nothing is kept mapped after its
 * last handle is released, so no peer's memory outlives its use here.
 * Guarded by a mutex: buffers may be released on any thread. */
struct shared_map {
	void *data;
	size_t size;
	dev_t dev;
	ino_t ino;
	bool writable;
	unsigned refs;
};
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shared_map *maps;
static size_t n_maps, cap_maps;

/* Register a fresh mapping (refs 1). On -ENOMEM it simply stays unshared. */
static void map_register(void *data, size_t size, dev_t dev, ino_t ino, bool writable)
{
	pthread_mutex_lock(&maps_lock);
	if (n_maps == cap_maps) {
		size_t cap = cap_maps ? cap_maps * 2 : 16;
		struct shared_map *t = reallocarray(maps, cap, sizeof(*t));
		if (!t) {
			pthread_mutex_unlock(&maps_lock);
			return;
		}
		maps = t;
		cap_maps = cap;
	}
	maps[n_maps++] = (struct shared_map){data, size, dev, ino, writable, 1};
	pthread_mutex_unlock(&maps_lock);
}

/* A live mapping of that file, same size and protection: one more ref. */
static void *map_reuse(size_t size, dev_t dev, ino_t ino, bool writable)
{
	void *data = NULL;
	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < n_maps; i++) {
		struct shared_map *m = &maps[i];
		if (m->ino == ino && m->dev == dev && m->size == size && m->writable == writable) {
			m->refs++;
			data = m->data;
			break;
		}
	}
	pthread_mutex_unlock(&maps_lock);
	return data;
}

/* Drop one handle's reference; unmap with the last (or if unregistered). */
static void map_unref(void *data, size_t size)
{
	if (!data || !size)
		return;
	bool last = true;
	pthread_mutex_lock(&maps_lock);
	for (size_t i = 0; i < n_maps; i++) {
		if (maps[i].data != data)
			continue;
		last = --maps[i].refs == 0;
		if (last)
			maps[i] = maps[--n_maps];
		break;
	}
	if (n_maps == 0) {
		free(maps);
		maps = NULL;
		cap_maps = 0;
	}
	pthread_mutex_unlock(&maps_lock);
	if (last)
		munmap(data, size);
}

/* Map a verified memfd, or share this process's live mapping of it. */
static void *map_buffer(int fd, const struct stat *st, size_t size, bool writable)
{
	void *data = map_reuse(size, st->st_dev, st->st_ino, writable);
	if (data)
		return data;
	data = mmap(NULL, size, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED)
		return NULL;
	map_register(data, size, st->st_dev, st->st_ino, writable);
	return data;
}

static int buffer_verify(int fd, uint64_t size, bool readonly, struct stat *st, const char **why)
{
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		*why = "not a memfd";
		return -EBADMSG;
	}
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
		*why = "memfd not sealed against shrinking and growing";
		return -EBADMSG;
	}
	if (readonly && !(seals & F_SEAL_WRITE)) {
		*why = "read-only buffer without F_SEAL_WRITE";
		return -EBADMSG;
	}
	if (fstat(fd, st) < 0 || st->st_size < 0 || (uint64_t)st->st_size != size) {
		*why = "memfd size differs from the size on the wire";
		return -EBADMSG;
	}
	return 0;
}

/* Verify b (fd, size and readonly as received) and map it into b->data. */
static int buffer_verify_map(hv_buffer *b)
{
	struct stat st;
	const char *why = NULL;
	int r = buffer_verify(b->fd, b->size, b->readonly, &st, &why);
	if (r < 0) {
		hv_log_warn("ipc: rejecting a received buffer (fd %d, %zu bytes): %s", b->fd, b->size,
			    why);
		return r;
	}
	if (b->size == 0)
		return 0;
	void *data = map_buffer(b->fd, &st, b->size, !b->readonly);
	if (!data)
		return errno == ENOMEM ? -ENOMEM : -EBADMSG;
	b->data = data;
	return 0;
}

bool hv_dec_buffer(hv_dec *d, hv_buffer *b)
{
	uint64_t size;
	uint8_t flags;
	if (!hv_dec_u64(d, &size) || !hv_dec_u8(d, &flags))
		return false;
	if (flags & ~(HV_BUF_FLAG_READONLY | HV_BUF_FLAG_NULL))
		return dec_fail(d, -EBADMSG);
	if (flags & HV_BUF_FLAG_NULL) {
		if (size != 0 || (flags & HV_BUF_FLAG_READONLY))
			return dec_fail(d, -EBADMSG);
		*b = HV_BUFFER_EMPTY;
		return true;
	}
	if (size > SIZE_MAX / 2)
		return dec_fail(d, -EBADMSG);
	int fd;
	if (!hv_dec_fd(d, &fd))
		return false;
	hv_buffer v = {.fd = fd, .data = NULL, .size = size, .readonly = flags & HV_BUF_FLAG_READONLY};
	/* Lazy: what the wire says, unchecked and unmapped until someone maps
	 * it (hv_buffer_map / hv_call_map_buffer verify then). */
	if (!d->msg->lazy_buffers) {
		int r = buffer_verify_map(&v);
		if (r < 0)
			return dec_fail(d, r);
		if (v.data) {
			struct hv_msg_map *m = hv_arena_alloc(&d->msg->arena, sizeof(*m));
			if (!m) {
				map_unref(v.data, v.size);
				return dec_fail(d, -ENOMEM);
			}
			*m = (struct hv_msg_map){.next = d->msg->maps, .data = v.data, .size = v.size};
			d->msg->maps = m;
		}
	}
	*b = v;
	return true;
}

int hv_buffer_map(hv_buffer *b)
{
	if (!b || b->fd < 0)
		return -EBADF;
	if (b->data)
		return 0;
	return buffer_verify_map(b);
}

int hv_msg_map_buffer(hv_msg *m, hv_buffer *b)
{
	if (!b || b->fd < 0)
		return -EBADF;
	if (b->data)
		return 0;
	/* Only the message's own, untaken fds: a mapping recorded here is
	 * unmapped with the message, which must still hold the fd. */
	bool held = false;
	for (unsigned i = 0; i < m->nfds && !held; i++)
		held = m->fds[i] == b->fd;
	if (!held)
		return -EBADF;
	struct hv_msg_map *mm = hv_arena_alloc(&m->arena, sizeof(*mm));
	if (!mm)
		return -ENOMEM;
	int r = buffer_verify_map(b);
	if (r < 0 || !b->data)
		return r;
	*mm = (struct hv_msg_map){.next = m->maps, .data = b->data, .size = b->size};
	m->maps = mm;
	return 0;
}

bool hv_dec_bitmap(hv_dec *d, hv_bitmap *b)
{
	hv_bitmap v;
	if (!hv_dec_u32(d, &v.width) || !hv_dec_u32(d, &v.height) || !hv_dec_u32(d, &v.stride) ||
	    !hv_dec_u32(d, &v.format))
		return false;
	if (v.format < HV_PIXEL_BGRA8888 || v.format > HV_PIXEL_BGRX8888)
		return dec_fail(d, -EBADMSG);
	if ((uint64_t)v.width * 4 > v.stride)
		return dec_fail(d, -EBADMSG);
	if (!hv_dec_buffer(d, &v.buffer))
		return false;
	if ((uint64_t)v.stride * v.height > v.buffer.size)
		return dec_fail(d, -EBADMSG);
	*b = v;
	return true;
}

void *hv_dec_alloc(hv_dec *d, size_t count, size_t size)
{
	size_t n;
	if (d->err)
		return NULL;
	if (!hv_mul_ok(count, size, &n)) {
		dec_fail(d, -ENOMEM);
		return NULL;
	}
	void *p = hv_arena_alloc(&d->msg->arena, n ? n : 1);
	if (!p)
		dec_fail(d, -ENOMEM);
	return p;
}

int hv_dec_finish(hv_dec *d)
{
	if (d->err)
		return d->err;
	if (d->p != d->end || d->next_fd != d->msg->nfds)
		return (d->err = -EBADMSG);
	return 0;
}

/* --- received messages -------------------------------------------------- */
enum hv_msg_kind hv_msg_kind(const hv_msg *m) { return (enum hv_msg_kind)m->kind; }
uint32_t hv_msg_magic(const hv_msg *m) { return m->magic; }
uint16_t hv_msg_id(const hv_msg *m) { return m->id; }
uint32_t hv_msg_request_id(const hv_msg *m) { return m->request_id; }
unsigned hv_msg_fd_count(const hv_msg *m) { return m->nfds; }
const uint8_t *hv_msg_payload(const hv_msg *m, size_t *len)
{
	if (len)
		*len = m->len;
	return m->payload;
}

int hv_msg_take_fd(hv_msg *m, int fd)
{
	if (fd < 0)
		return -EBADF;
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] == fd) {
			m->fds[i] = -1;
			return 0;
		}
	return -EBADF;
}

int hv_msg_take_buffer(hv_msg *m, const hv_buffer *b)
{
	int r = hv_msg_take_fd(m, b->fd);
	if (r < 0)
		return r;
	/* An unmapped (lazy) buffer has no mapping to take along. */
	for (struct hv_msg_map **pp = &m->maps; b->data && *pp; pp = &(*pp)->next)
		if ((*pp)->data == b->data) {
			*pp = (*pp)->next;
			break;
		}
	return 0;
}

void hv_msg_give_all(hv_msg *m) { m->given = true; }

hv_msg *hv_msg_alloc(size_t len)
{
	hv_msg *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (hv_msg_reserve(m, len) < 0) {
		free(m);
		return NULL;
	}
	for (unsigned i = 0; i < HV_IPC_MAX_FDS_PER_MESSAGE; i++)
		m->fds[i] = -1;
	return m;
}

int hv_msg_reserve(hv_msg *m, size_t len)
{
	if (m->cap >= len + 1 && m->buf) {
		m->payload = m->buf;
		return 0;
	}
	size_t cap = HV_MAX(len + 1, (size_t)256);
	uint8_t *p = malloc(cap);
	if (!p)
		return -ENOMEM;
	free(m->buf);
	m->buf = p;
	m->payload = p;
	m->cap = cap;
	return 0;
}

void hv_msg_clear(hv_msg *m)
{
	/* Given messages: what decoders handed out belongs to the caller, what
	 * nobody decoded is still ours. */
	unsigned from = m->given ? m->fds_consumed : 0;
	for (unsigned i = 0; i < m->nfds; i++) {
		if (i >= from && m->fds[i] >= 0)
			close(m->fds[i]);
		m->fds[i] = -1;
	}
	if (!m->given)
		for (struct hv_msg_map *p = m->maps; p; p = p->next)
			map_unref(p->data, p->size);
	m->maps = NULL;
	m->nfds = 0;
	m->fds_consumed = 0;
	m->given = false;
	m->nchecked = 0;
	m->len = 0;
	m->payload = m->buf;
	if (m->keep) {
		hv_keep_unref(m->keep);
		m->keep = NULL;
	}
	if (m->arena.used_total) /* most messages decode without it */
		hv_arena_reset(&m->arena);
}

void hv_msg_destroy(hv_msg *m)
{
	if (!m)
		return;
	hv_msg_clear(m);
	hv_arena_release(&m->arena);
	free(m->buf);
	free(m);
}

int hv_msg_new_raw(uint32_t magic, uint16_t id, uint8_t kind, uint32_t request_id,
		   const void *payload, size_t len, const int *fds, unsigned nfds, hv_msg **out)
{
	if (nfds > HV_IPC_MAX_FDS_PER_MESSAGE)
		return -EMSGSIZE;
	hv_msg *m = hv_msg_alloc(len);
	if (!m)
		return -ENOMEM;
	m->magic = magic;
	m->id = id;
	m->kind = kind;
	m->request_id = request_id;
	if (len)
		memcpy(m->buf, payload, len);
	m->buf[len] = 0;
	m->len = len;
	for (unsigned i = 0; i < nfds; i++)
		m->fds[i] = fds[i];
	m->nfds = (uint8_t)nfds;
	*out = m;
	return 0;
}

/* --- shared memory ------------------------------------------------------ */
int hv_buffer_create(size_t size, hv_buffer *out)
{
	_hv_close_ int fd = memfd_create("haven-buffer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (size > (size_t)INT64_MAX)
		return -EINVAL;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	/* Fixed size forever: a peer that maps it can never be SIGBUSed. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0)
		return -errno;
	void *data = NULL;
	if (size > 0) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			return -errno;
		data = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (data == MAP_FAILED)
			return -errno;
		map_register(data, size, st.st_dev, st.st_ino, true);
	}
	*out = (hv_buffer){.fd = HV_TAKE_FD(fd), .data = data, .size = size, .readonly = false};
	return 0;
}

int hv_buffer_seal(hv_buffer *b)
{
	if (b->fd < 0)
		return -EBADF;
	if (b->readonly)
		return 0;
	/* F_SEAL_WRITE needs every writable shared mapping gone, ours too
	 * (a handle sharing it keeps it, and the seal then fails: -EBUSY). */
	map_unref(b->data, b->size);
	b->data = NULL;
	int r = 0;
	if (fcntl(b->fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		r = -errno;
	void *data = NULL;
	if (b->size > 0) {
		struct stat st;
		if (fstat(b->fd, &st) < 0)
			return r < 0 ? r : -errno;
		data = map_buffer(b->fd, &st, b->size, r < 0);
		if (!data)
			return r < 0 ? r : -errno;
	}
	b->data = data;
	if (r < 0)
		return r;
	b->readonly = true;
	return 0;
}

void hv_buffer_release(hv_buffer *b)
{
	if (!b)
		return;
	map_unref(b->data, b->size);
	hv_close(&b->fd);
	*b = HV_BUFFER_EMPTY;
}

int hv_bitmap_create(uint32_t width, uint32_t height, uint32_t format, hv_bitmap *out)
{
	if (format < HV_PIXEL_BGRA8888 || format > HV_PIXEL_BGRX8888)
		return -EINVAL;
	uint64_t stride = (uint64_t)width * 4;
	if (stride > UINT32_MAX || stride * height > (uint64_t)HV_IPC_MAX_OUTGOING_BYTES * 16)
		return -EINVAL;
	hv_buffer b;
	int r = hv_buffer_create((size_t)(stride * height), &b);
	if (r < 0)
		return r;
	*out = (hv_bitmap){.width = width, .height = height, .stride = (uint32_t)stride,
			   .format = format, .buffer = b};
	return 0;
}

void hv_bitmap_release(hv_bitmap *b)
{
	if (b)
		hv_buffer_release(&b->buffer);
}
