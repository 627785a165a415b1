/* icon_store.h — the bitmap icons NotificationServer keeps: immutable,
 * shareable with any watcher, and durable across a respawn.
 *
 * An icon is a sealed (read-only) bitmap. A client's sealed bitmap is
 * kept as it is (no copy); a writable one is copied into a sealed one, so
 * neither its owner can change what watchers were shown nor a watcher
 * write into the owner's memory.
 *
 * On disk (state directory, one file per active notification with an
 * icon, "icon-<id>"): the 8 bytes "HVICON1\n", u32 width, u32 height, u32
 * pixel format (enum hv_pixel_format; little-endian), then width*height*4
 * bytes of pixels, rows packed. Written with hv_replace_file_at (temp file
 * ".icon-<id>.XXXXXX", fsync, rename) before the state that refers to it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <haven/ipc.h>

#define NQ_ICON_MAX_SIDE 1024u

typedef struct nq_icon {
	hv_bitmap bitmap; /* sealed */
	bool saved;	  /* its file is on disk */
} nq_icon;

/* Keep `in` (a request's view: its buffer is taken through the call when it
 * is sealed already). -EINVAL for a size outside 1..NQ_ICON_MAX_SIDE. */
int nq_icon_take(hv_call *call, const hv_bitmap *in, nq_icon **out);
void nq_icon_free(nq_icon *icon);

/* The file format. parse: -EBADMSG unless `data` is exactly one icon file
 * (magic, sizes within bounds, a known pixel format, pixel bytes to the
 * end); on success *pixels points into data. */
int nq_icon_parse(const uint8_t *data, size_t len, uint32_t *width, uint32_t *height,
		  uint32_t *format, const uint8_t **pixels);

/* Write icon-<id> in dirfd durably (the directory's fsync is the caller's,
 * with the state file's); marks the icon saved. */
int nq_icon_save(int dirfd, uint32_t id, nq_icon *icon);
/* Read icon-<id>: -ENOENT when there is none, -EBADMSG when it is not an
 * icon file. The icon comes back saved. */
int nq_icon_load(int dirfd, uint32_t id, nq_icon **out);
/* Remove the icon files whose id keep() refuses. */
void nq_icon_prune(int dirfd, bool (*keep)(uint32_t id, void *ud), void *ud);
