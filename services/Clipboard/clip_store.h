/* clip_store.h — the Clipboard's data: entries, their MIME representations,
 * a bounded history, and the on-disk copy that survives a crash.
 *
 * An entry is what one "copy" put on the clipboard: one or more
 * representations of the same thing (text/plain and text/html, image/png and
 * image/bmp, ...) plus string metadata. Representation data lives in sealed
 * memfds (never writable again, by anyone), so it can be handed to any
 * number of readers as the same fd without copying.
 *
 * With a state directory, every change is written there (temp file, fsync,
 * rename, fsync of the directory) before the call that made it returns; a
 * new store loads what it finds, so a respawned Clipboard has the clipboard
 * and history it acknowledged. The directory is meant to be on tmpfs
 * ($XDG_RUNTIME_DIR): the clipboard outlives the service, not the session.
 *
 * No IPC in here: the handlers in main.c translate.
 * Every function that can fail returns a negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <haven/util.h>

#define CLIP_DEFAULT_HISTORY 16u
#define CLIP_MAX_HISTORY 1024u
/* Whole history (every representation of every entry) in bytes; the
 * current entry is kept even if it alone is bigger. */
#define CLIP_DEFAULT_MAX_BYTES (1024ull << 20)
#define CLIP_MAX_REPRESENTATIONS 16u
/* One representation; more is refused with -EFBIG. */
#define CLIP_MAX_DATA (512ull << 20)
#define CLIP_MAX_MIME_LEN 255u
#define CLIP_MAX_METADATA 64u
#define CLIP_MAX_METADATA_KEY 256u
#define CLIP_MAX_METADATA_VALUE 4096u

typedef struct clip_rep {
	char *mime;
	int fd; /* sealed memfd (write, grow, shrink, seal), owned by the store */
	uint64_t size;
} clip_rep;

typedef struct clip_entry {
	uint64_t serial; /* > 0, grows with every new entry */
	int64_t time_ms; /* wall clock of the copy */
	clip_rep reps[CLIP_MAX_REPRESENTATIONS];
	size_t nreps; /* >= 1; reps[0] is the primary (the one first set) */
	char **meta_keys, **meta_values;
	size_t nmeta;
	uint64_t bytes; /* sum of the representations' sizes */
} clip_entry;

typedef struct clip_store clip_store;

/* state_dir NULL: memory only. Otherwise it is created if missing (0700)
 * and whatever valid entries it holds are loaded (corrupt files are
 * reported and removed). */
int clip_store_new(const char *state_dir, size_t max_entries, uint64_t max_bytes,
		   clip_store **out);
void clip_store_free(clip_store *s);
HV_DEFINE_CLEANUP(clip_store *, clip_store_free)

/* Change the bounds (the history shrinks at once, oldest first). */
int clip_store_set_limits(clip_store *s, size_t max_entries, uint64_t max_bytes);
size_t clip_store_max_entries(const clip_store *s);

/* Checks on what a client sends; 0 or -EINVAL. */
int clip_mime_valid(const char *mime);
int clip_metadata_valid(const char *const *keys, const char *const *values, size_t n);

/* Turn a client's fd into store-owned immutable data of `size` bytes: a memfd
 * of exactly that size that already carries the write/grow/shrink seals is
 * kept as is (dup'ed, no copy); anything else is copied into a new memfd that
 * is then sealed. -EINVAL if fd holds fewer than size bytes, -EFBIG over
 * CLIP_MAX_DATA. The caller keeps its fd. */
int clip_adopt_fd(int fd, uint64_t size, int *out_fd);
/* A sealed memfd with a copy of data (for tests and the CLI side). */
int clip_memfd_from(const void *data, size_t size, int *out_fd);

/* New current entry with one representation (data_fd from clip_adopt_fd,
 * taken by the store on success and on failure). */
int clip_store_set(clip_store *s, int data_fd, uint64_t size, const char *mime,
		   const char *const *meta_keys, const char *const *meta_values, size_t nmeta,
		   uint64_t *serial_out);
/* Another representation of the current entry. -ESTALE if `serial` is no
 * longer current, -EEXIST if it has that MIME type already, -E2BIG when it
 * has the most representations. data_fd is taken. */
int clip_store_add(clip_store *s, uint64_t serial, int data_fd, uint64_t size,
		   const char *mime);
/* Make a history entry current again (it gets a new serial). -ENOENT. */
int clip_store_restore(clip_store *s, uint64_t serial, uint64_t *serial_out);
/* Drop everything but the current entry. */
int clip_store_clear_history(clip_store *s);

/* NULL when the clipboard is empty. */
const clip_entry *clip_store_current(const clip_store *s);
/* Entries newest first: index 0 is the current one. NULL past the end. */
const clip_entry *clip_store_at(const clip_store *s, size_t index);
size_t clip_store_count(const clip_store *s);
const clip_entry *clip_store_find(const clip_store *s, uint64_t serial);
/* The representation of e with MIME type mime (NULL or "": the primary). */
const clip_rep *clip_entry_rep(const clip_entry *e, const char *mime);
