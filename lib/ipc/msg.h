/* lib/ipc/msg.h — internal: the layout of a received message (hv_msg) and
 * the helpers the connection code and the fuzz targets use to make one.
 * Not installed; services only see the opaque hv_msg of haven/ipc.h. */
#pragma once

#include <stdlib.h>

#include <haven/ipc.h>

/* A buffer mapping that the message still owns (unmapped on release). */
struct hv_msg_map {
	struct hv_msg_map *next;
	void *data;
	size_t size;
};

/* A read buffer shared by the connection (while it still reads into its
 * tail) and the messages whose payloads live in it. Single-threaded, as
 * the connection is. */
struct hv_keep {
	unsigned refs;
	uint8_t *buf;
};

static inline void hv_keep_unref(struct hv_keep *k)
{
	if (k && --k->refs == 0) {
		free(k->buf);
		free(k);
	}
}

struct hv_msg {
	struct hv_msg *next; /* incoming queue or the connection's free list */
	uint32_t magic;
	uint32_t request_id;
	uint16_t id;
	uint8_t kind;
	uint8_t nfds;
	unsigned fds_consumed; /* by decoders: the next fd to hand out */
	bool given;            /* hv_msg_give_all(): decoded fds/buffers are the caller's */
	bool lazy_buffers;     /* decode Buffers/Bitmaps unmapped (hv_conn_set_lazy_buffers) */
	/* Strings hv_dec_string checked (UTF-8, no NUL) in this payload, for
	 * replies that send them back (hv_enc.src); forgotten on release. */
	uint8_t nchecked;
	const char *checked[4];
	uint32_t checked_len[4];
	/* The payload: buf (owned; buf[len] is a guard NUL), or a view into the
	 * connection's read buffer for a message dispatched where it was
	 * received (no copy; see conn.h's "borrowed"). */
	const uint8_t *payload;
	uint8_t *buf;
	size_t len, cap;
	/* The read buffer this message's payload lives in, once the
	 * connection had to let it go (a held call, a read during its
	 * dispatch): shared with the connection and every other message
	 * borrowed from it, freed with the last (hv_keep_unref on clear). */
	struct hv_keep *keep;
	int fds[HV_IPC_MAX_FDS_PER_MESSAGE]; /* -1 once taken */
	struct hv_msg_map *maps;
	hv_arena arena;
};

/* A fresh, empty message with room for `len` payload bytes. */
hv_msg *hv_msg_alloc(size_t len);
/* Make room for len payload bytes (keeps nothing). */
int hv_msg_reserve(hv_msg *m, size_t len);
/* Close untaken fds, unmap untaken buffers, reset the arena: the message
 * can be reused. */
void hv_msg_clear(hv_msg *m);
void hv_msg_destroy(hv_msg *m); /* NULL-safe */
/* Build a message from raw parts (copies payload; takes the fds). */
int hv_msg_new_raw(uint32_t magic, uint16_t id, uint8_t kind, uint32_t request_id,
		   const void *payload, size_t len, const int *fds, unsigned nfds, hv_msg **out);

/* Verify and map a lazily decoded buffer of this message (hv_call_map_buffer):
 * the mapping is the message's, unmapped with it. -EBADF if the message does
 * not hold b->fd. */
int hv_msg_map_buffer(hv_msg *m, hv_buffer *b);

/* Header access on an encoder's buffer (finalized just before sending). */
void hv_enc_finalize(hv_enc *e, uint8_t kind, uint32_t request_id);
