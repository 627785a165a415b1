/* file.h — the document root: files opened beneath it by the kernel,
 * an open-file cache that notices replaced files, MIME types, and
 * directory listings.
 *
 * Every open goes through openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
 * on the root's fd: "..", absolute symlinks and symlinks that climb out of
 * the root fail in the kernel (EXDEV), whatever the path says. Where
 * openat2 is not allowed (lib/sandbox's seccomp filter answers ENOSYS
 * under a read-only pledge: it cannot read open_how), beneath.c resolves
 * the path the same way in user space; the Landlock view of the root stays
 * the outer wall in both cases. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define WS_SMALL_FILE (32 * 1024) /* files up to this are kept in memory */
#define WS_CACHE_MAX 4096	  /* entries per worker; flushed when full */

typedef struct ws_file {
	char *key;   /* path below the root, "" for the root itself */
	int fd;	     /* -1 in a negative entry */
	int err;     /* negative entry: the -errno of the open */
	struct stat st;
	char etag[48];		/* "\"mtime-size\"" (nginx's form) */
	char last_modified[30];
	char *data;		/* the whole file when small, else NULL */
	uint64_t checked_ns;	/* last time its path was stat'ed */
	unsigned refs;		/* the cache's and each response's */
	bool cached;		/* still in the table */
	struct ws_file *next;
} ws_file;

typedef struct ws_root ws_root;

/* Open the root (a directory) and, unless NULL, the mime.types file.
 * valid_ns: how long a cached entry is trusted before its path is
 * stat'ed again (0: every request). */
int ws_root_open(const char *dir, const char *mime_types, uint64_t valid_ns, ws_root **out);
void ws_root_free(ws_root *r);

/* The file at rel ("" or "a/b", no leading slash) with a reference the
 * caller drops with ws_file_unref; a negative errno when it cannot be
 * opened (-ENOENT, -EACCES, -EXDEV/-ELOOP for a way out of the root). */
int ws_file_get(ws_root *r, const char *rel, ws_file **out);
void ws_file_unref(ws_file *f);

/* The Content-Type for a name, from mime.types (application/octet-stream
 * when unknown). */
const char *ws_mime_type(const ws_root *r, const char *name);

/* An HTML listing of directory f (names escaped, sorted, sizes and dates);
 * malloc'd body and its length. path: the request path, for the title. */
int ws_list_directory(ws_root *r, ws_file *dir, const char *path, char **body, size_t *len);
