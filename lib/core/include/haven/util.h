/* haven/util.h — small things every Haven file wants: cleanup attributes,
 * fd helpers, a bump arena, checked arithmetic. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Cleanup on scope exit (dbus-broker / systemd style): every early return
 * is safe without a goto ladder. */
#define _hv_cleanup_(fn) __attribute__((cleanup(fn)))
static inline void hv_freep(void *p) { free(*(void **)p); }
static inline void hv_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _hv_free_ _hv_cleanup_(hv_freep)
#define _hv_close_ _hv_cleanup_(hv_closep)

/* A cleanup function for a pointer type from its destructor, as dbus-broker's
 * C_DEFINE_CLEANUP: HV_DEFINE_CLEANUP(hv_loop *, hv_loop_free) defines
 * hv_loop_freep(hv_loop **), used as `_hv_cleanup_(hv_loop_freep) hv_loop
 * *loop = NULL;`. The destructor is not called for NULL. Every Haven type
 * with a destructor has one, declared beside it. */
#define HV_DEFINE_CLEANUP(type, func)                                                              \
	static inline void func##p(type *p)                                                        \
	{                                                                                          \
		if (*p)                                                                            \
			func(*p);                                                                  \
	}

#define HV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define HV_MIN(a, b) ((a) < (b) ? (a) : (b))
#define HV_MAX(a, b) ((a) > (b) ? (a) : (b))
#define HV_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))

/* Take ownership out of a variable: `return HV_TAKE_FD(fd);` */
static inline int hv_take_fd_var(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}
#define HV_TAKE_FD(fd) hv_take_fd_var(&(fd))
static inline void *hv_take_ptr_var(void **p)
{
	void *r = *p;
	*p = NULL;
	return r;
}
#define HV_TAKE_PTR(p) ((__typeof__(p))hv_take_ptr_var((void **)&(p)))

/* Close and set to -1; NULL-safe and -1-safe. */
static inline void hv_close(int *fd)
{
	if (fd && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/* Checked size arithmetic: false on overflow. */
static inline bool hv_mul_ok(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
static inline bool hv_add_ok(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

/* --- arena: many small allocations, one release ----------------------- */
/* Memory for decoded messages and replies. Allocation never fails silently:
 * NULL means out of memory (or size overflow). Alignment: 16 bytes. */
typedef struct hv_arena_chunk hv_arena_chunk;
typedef struct hv_arena {
	hv_arena_chunk *head;
	size_t used_total;
} hv_arena;

#define HV_ARENA_INIT {NULL, 0}
void *hv_arena_alloc(hv_arena *a, size_t size);
void *hv_arena_calloc(hv_arena *a, size_t count, size_t size);
char *hv_arena_strdup(hv_arena *a, const char *s);
char *hv_arena_strndup(hv_arena *a, const char *s, size_t n);
char *hv_arena_printf(hv_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Free everything but keep one chunk for reuse (cheap per-call reset). */
void hv_arena_reset(hv_arena *a);
void hv_arena_release(hv_arena *a);

/* --- misc --------------------------------------------------------------- */
/* Parse a whole decimal string into [min,max]; -EINVAL / -ERANGE otherwise. */
int hv_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int hv_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Write all / read exactly, retrying on EINTR; negative errno on failure,
 * -EPIPE on a short read at EOF for hv_read_full. */
int hv_write_full(int fd, const void *buf, size_t len);
int hv_read_full(int fd, void *buf, size_t len);
/* A whole regular file dirfd/name into a malloc'd, NUL-terminated buffer
 * (*len excludes the NUL). open_flags are added to O_RDONLY|O_CLOEXEC:
 * O_NOFOLLOW for a service's own state files (a symlink there is not one
 * it wrote), 0 for a path a person gave. -EINVAL when it is not a regular
 * file, -EFBIG when it is larger than max, else -errno. */
int hv_read_file_at(int dirfd, const char *name, int open_flags, size_t max, uint8_t **out,
		    size_t *len);
/* A directory stream on dirfd's directory that leaves dirfd open (and its
 * offset alone): closedir() it. NULL with errno set on failure. */
DIR *hv_opendir_at(int dirfd);
/* The XDG base directories (XDG Base Directory spec). */
enum hv_xdg {
	HV_XDG_CONFIG,	/* $XDG_CONFIG_HOME, else ~/.config */
	HV_XDG_DATA,	/* $XDG_DATA_HOME, else ~/.local/share */
	HV_XDG_STATE,	/* $XDG_STATE_HOME, else ~/.local/state */
	HV_XDG_CACHE,	/* $XDG_CACHE_HOME, else ~/.cache */
	HV_XDG_RUNTIME, /* $XDG_RUNTIME_DIR, no default */
};
/* "BASE/sub" (sub may be NULL or "": BASE alone) into a malloc'd *out.
 * The spec says a relative $XDG_* is invalid and is ignored: then the
 * ~/ default is used. -ENOENT (with *out NULL) when there is no absolute
 * base (no variable and no absolute $HOME; always for RUNTIME without
 * its variable). Nothing is created: see hv_mkdir_p. */
int hv_xdg_path(enum hv_xdg kind, const char *sub, char **out);
/* mkdir -p: every missing component of path is created with mode (the
 * caller's most private choice; 0700 for what the XDG spec says), existing
 * directories are left as they are. -ENOTDIR when a component exists and
 * is not a directory, else 0 or -errno. */
int hv_mkdir_p(const char *path, mode_t mode);
/* A service's private runtime directory, $XDG_RUNTIME_DIR/haven/<name>,
 * into buf; $XDG_RUNTIME_DIR/haven is created (0700) when missing, the
 * last component is left to the caller. -ENOENT when XDG_RUNTIME_DIR is
 * unset or empty, -ENAMETOOLONG when buf is too small. */
int hv_runtime_dir(const char *name, char *buf, size_t size);
/* A service's --state-dir argument: NULL → hv_runtime_dir(name) into buf,
 * "-" → *out = NULL (state kept in memory only), anything else as given.
 * Logs why and returns a negative errno when no directory can be found. */
int hv_state_dir_arg(const char *arg, const char *name, char *buf, size_t size,
		     const char **out);
/* A boolean as people write them in files and on command lines:
 * true/yes/on/1 and false/no/off/0, any case. -EINVAL otherwise. */
int hv_parse_bool(const char *s, bool *out);

/* --- string vectors --------------------------------------------------- */
/* Owned copies; v is NULL-terminated when n > 0 (usable as an argv). A
 * zeroed hv_strv is empty. */
typedef struct hv_strv {
	char **v;
	size_t n;
} hv_strv;
int hv_strv_push(hv_strv *l, const char *s); /* appends a copy */
/* Appends a copy unless an equal string is there (0 either way). */
int hv_strv_push_unique(hv_strv *l, const char *s);
bool hv_strv_contains(const hv_strv *l, const char *s);
void hv_strv_clear(hv_strv *l); /* frees all; l is empty again */

/* --- files a service keeps: hostile-directory safe ----------------------- */
/* Open dirfd/name for reading as a regular file and nothing else: never
 * follows a symlink, never blocks on a FIFO or device (O_NONBLOCK at open,
 * cleared after the check), and refuses what fstat says is not a regular
 * file with -EINVAL (a symlink: -ELOOP). open_flags are added (e.g.
 * O_NOATIME); the fd is close-on-exec. Returns the fd or a negative errno. */
int hv_open_regular_at(int dirfd, const char *name, int open_flags);

/* Replace dirfd/name durably and atomically: a new temp file beside it
 * (".NAME.XXXXXX", created O_EXCL|O_NOFOLLOW, so nothing planted there is
 * ever opened), filled by fill(fd, userdata) (0 or a negative errno),
 * fsync'd, renamed over name, then the directory fsync'd — unless flags
 * has HV_REPLACE_NO_DIRSYNC, for a batch whose last write syncs it. On any
 * failure the temp file is removed and name is as it was. If st is not
 * NULL it receives the new file's stat (its identity after the rename). */
#define HV_REPLACE_NO_DIRSYNC 1u
typedef int (*hv_fill_fn)(int fd, void *userdata);
int hv_replace_file_at(int dirfd, const char *name, mode_t mode, unsigned flags, hv_fill_fn fill,
		       void *userdata, struct stat *st);
/* The same with the whole content in one buffer. */
int hv_replace_file_data_at(int dirfd, const char *name, mode_t mode, unsigned flags,
			    const void *data, size_t len, struct stat *st);

/* A listening AF_UNIX stream socket at path that a client can connect to
 * as soon as the file exists: bound under a temporary name beside it, given
 * mode (and uid/gid unless both are -1), listening, then renamed into
 * place. A stale socket file at path is replaced; a live server's is
 * -EADDRINUSE, a path that is not a socket -EEXIST. The fd is close-on-exec
 * (sock_flags may add SOCK_NONBLOCK). */
int hv_unix_listen(const char *path, mode_t mode, uid_t uid, gid_t gid, int sock_flags);

/* Validate UTF-8 (rejects overlongs, surrogates, > U+10FFFF). */
bool hv_utf8_valid(const char *s, size_t len);
