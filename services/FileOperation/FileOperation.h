/* FileOperation.h — what the files of FileOperation share: the one
 * operation a process runs (FileOperation.c talks to the client on the
 * loop thread, worker.c does the work on its own thread, copy.c moves one
 * file's bytes and metadata, confine.c narrows the process to the fds it
 * was handed). */
#pragma once

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <haven/ipc.h>
#include <haven/loop.h>

#include "FileOperationClient.ipc.h"
#include "FileOperationServer.ipc.h"

/* Most sources one operation takes (the .ipc's MaxLength, and fds per
 * message leave room for the destination). */
#define FO_MAX_SOURCES 64
/* Bytes copied between two looks at cancel/pause: small enough that
 * cancel answers within a few ms on a disk, large enough that
 * copy_file_range runs at full speed. */
#define FO_CHUNK (8u << 20)
/* Progress events at most this often. */
#define FO_PROGRESS_MS 100
/* Source files moved across filesystems whose copies are made durable
 * (one fsync of their directory) before the sources are removed. */
#define FO_MOVE_BATCH 64

enum fo_kind { FO_COPY, FO_MOVE, FO_DELETE };
enum fo_conflict { FO_ASK, FO_SKIP, FO_OVERWRITE, FO_KEEP_BOTH };

/* The operation. Fields above `mu` are set before the worker starts and
 * only read afterwards; those below are shared under mu. */
typedef struct fo_op {
	enum fo_kind kind;
	enum fo_conflict conflict;
	bool abort_on_error;
	size_t n_src;
	int src_dir[FO_MAX_SOURCES];
	char *src_name[FO_MAX_SOURCES];
	int dst_dir;
	char *dst_name; /* NULL: each source's own name */
	hv_loop *loop;
	hv_conn *conn; /* loop thread only; NULL once the client left */
	pthread_t thread;
	bool started;
	uint64_t start_ns;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	atomic_bool cancelled;
	bool paused;
	uint64_t conflict_id;	  /* of the question waiting; 0 none */
	int conflict_answer;	  /* -1 while waiting */
	int conflict_sticky;	  /* -1, or the answer given with `all` */
	uint64_t files_done, files_total, bytes_done, bytes_total, skipped, errors;
	char current[PATH_MAX];
	bool changed;	/* progress to send */
	bool finished;
} fo_op;

extern fo_op fo_the_op;
/* --debug-pause-at BYTES (tests): the operation pauses itself once this
 * many bytes are done, as if the client had asked; 0 = never. */
extern int64_t fo_debug_pause_at;
extern const file_operation_server_handlers fo_handlers;

/* FileOperation.c: events from the worker (any thread). */
void fo_post_error(fo_op *op, const char *path, int code, const char *what);
int fo_ask_conflict(fo_op *op, const char *path, bool is_dir); /* blocks; an fo_conflict or -ECANCELED */
void fo_post_finished(fo_op *op, int status);
/* Between chunks: waits while paused; -ECANCELED once cancelled. */
int fo_checkpoint(fo_op *op);
void fo_add_bytes(fo_op *op, uint64_t n);
void fo_set_current(fo_op *op, const char *rel);

/* worker.c */
void *fo_worker(void *op);

/* copy.c: a regular file's data (st: the source's, as stat'ed before it
 * was opened; a file that grows meanwhile is copied to that size), keeping holes (SEEK_DATA/SEEK_HOLE),
 * by copy_file_range with a read/write fallback; progress counted. */
int fo_copy_data(fo_op *op, int in, int out, const struct stat *st);
/* Extended attributes, owner (when permitted), mode, times: as cp -a. fd
 * is the copy (an fd, or -1 with dir+name for a symlink). */
int fo_copy_xattrs(int in, int out);
int fo_copy_meta(int out, int dir, const char *name, const struct stat *st);

/* confine.c: a Landlock domain that sees only what the operation was
 * handed (sources readable, removable for move and delete; the
 * destination writable). */
int fo_confine(const fo_op *op);

/* process.c: the service's hooks. */
void fo_conn_fini(hv_conn *c, void *state);
void fo_teardown(int code);
