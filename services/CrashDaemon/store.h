/* store.h — the crash store: one directory, a report per stack signature
 * (ID.report.zst, zstd), the core beside it in system mode (ID.core.zst),
 * and an index (one line per report: id, count, first and last time,
 * bytes, signal, executable). Crashes with the same signature bump the
 * count; the oldest (least recently seen) reports are evicted past the
 * quota. CrashDaemon writes it, `crash` reads it (docs/crashdaemon.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <haven/util.h>

#define CRASH_ID_LEN 16 /* hex digits of the signature's hash */
#define CRASH_DEFAULT_MAX_REPORTS 100
#define CRASH_DEFAULT_MAX_BYTES (1024ull * 1024 * 1024)
#define CRASH_INDEX "index"
#define CRASH_INDEX_MAX (16u << 20)
#define CRASH_REPORT_MAX (64u << 20)

typedef struct crash_entry {
	char id[CRASH_ID_LEN + 1];
	uint64_t count;
	int64_t first, last;
	uint64_t bytes;
	int signo;
	char exe[1024];
} crash_entry;

typedef struct crash_store {
	int dirfd;
	char *path;
	uint64_t max_bytes;
	uint64_t max_reports;
} crash_store;

/* The default store: $XDG_STATE_HOME/haven/CrashDaemon, into a malloc'd
 * string. */
int crash_store_default_path(char **out);
/* Open (creating it 0700 when missing) the store at path. */
int crash_store_open(const char *path, crash_store **out);
void crash_store_close(crash_store *s);
HV_DEFINE_CLEANUP(crash_store *, crash_store_close)

/* The index: a malloc'd array, oldest first seen first. A bad line is
 * reported as path:line and skipped. */
int crash_store_list(crash_store *s, crash_entry **out, size_t *n);
/* Parse an index held in memory (what the fuzz target drives). */
int crash_index_parse(const char *text, size_t len, const char *where, crash_entry **out,
		      size_t *n);

/* Store a report under the id of its signature, with the core already
 * written as `core_tmp` in the store (or NULL): a new entry, or the count
 * of the existing one bumped (its first report and core are kept). Then
 * the quota. id receives the entry's id. */
int crash_store_add(crash_store *s, const char *signature, const char *report, size_t len,
		    int signo, const char *exe, int64_t when, const char *core_tmp,
		    char id[CRASH_ID_LEN + 1]);
/* The report of id, decompressed, NUL-terminated. -ENOENT when absent. */
int crash_store_read(crash_store *s, const char *id, char **text, size_t *len);
int crash_store_remove(crash_store *s, const char *id);
/* The compressed core of id, open for reading (-ENOENT: none). */
int crash_store_open_core(crash_store *s, const char *id);
/* An id as a person types it: 1..16 hex digits, a unique prefix. */
int crash_store_resolve(crash_store *s, const char *prefix, char id[CRASH_ID_LEN + 1]);

/* The signature's id: 64-bit FNV-1a in hex. */
void crash_signature_id(const char *signature, char id[CRASH_ID_LEN + 1]);

/* zstd: compress src to fd (one frame), and stream fd_in → fd_out. */
int crash_zstd_write(int fd, const void *src, size_t len);
int crash_zstd_stream(int in, int out, uint64_t *raw_bytes, uint64_t max_raw);
/* Decompress fd_in to fd_out as a stream. */
int crash_zstd_unstream(int in, int out);
/* Decompress a whole .zst fd into a malloc'd buffer (at most max bytes). */
int crash_zstd_read(int fd, size_t max, char **out, size_t *len);
