/* FileOperation.c — the handlers of FileOperationServer.ipc and the events
 * of FileOperationClient.ipc. Everything here runs on the loop thread,
 * except the fo_* functions the worker calls, which only touch the shared
 * part of the operation under its mutex and post to the loop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>

#include "FileOperation.h"

fo_op fo_the_op = {
	.dst_dir = -1,
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.conflict_answer = -1,
	.conflict_sticky = -1,
};

/* --- progress: a timer on the loop samples the shared counters ---------- */

/* Rate over a sliding window of samples a second apart. */
#define RATE_SAMPLES 5
static struct {
	uint64_t ns[RATE_SAMPLES], bytes[RATE_SAMPLES];
	unsigned n, next;
} rate_win;
static hv_timer *progress_timer;

static uint64_t rate_of(uint64_t now, uint64_t bytes)
{
	unsigned last = (rate_win.next + RATE_SAMPLES - 1) % RATE_SAMPLES;
	if (!rate_win.n || now - rate_win.ns[last] >= 1000000000ull) {
		rate_win.ns[rate_win.next] = now;
		rate_win.bytes[rate_win.next] = bytes;
		rate_win.next = (rate_win.next + 1) % RATE_SAMPLES;
		if (rate_win.n < RATE_SAMPLES)
			rate_win.n++;
	}
	unsigned oldest = rate_win.n < RATE_SAMPLES ? 0 : rate_win.next;
	uint64_t dt = now - rate_win.ns[oldest];
	if (dt < 50000000ull)
		return 0;
	return (uint64_t)((double)(bytes - rate_win.bytes[oldest]) * 1e9 / (double)dt);
}

static void send_progress(fo_op *op, bool force)
{
	pthread_mutex_lock(&op->mu);
	if (!op->changed && !force) {
		pthread_mutex_unlock(&op->mu);
		return;
	}
	op->changed = false;
	uint64_t fd = op->files_done, ft = op->files_total, bd = op->bytes_done, bt = op->bytes_total;
	bool paused = op->paused;
	char current[PATH_MAX];
	memcpy(current, op->current, sizeof current);
	pthread_mutex_unlock(&op->mu);

	uint64_t rate = rate_of(hv_now_ns(), bd);
	int64_t eta = rate && bt >= bd ? (int64_t)((double)(bt - bd) * 1000.0 / (double)rate) : -1;
	if (op->conn)
		file_operation_client_progress(op->conn, fd, ft, bd, bt, current, rate, eta, paused);
}

static void on_progress_timer(hv_loop *loop, hv_timer *t, void *ud)
{
	send_progress(ud, false);
}

/* --- what the worker posts ----------------------------------------------- */

enum post_kind { POST_ERROR, POST_CONFLICT, POST_FINISHED };
struct post {
	enum post_kind kind;
	int code;
	bool is_dir;
	uint64_t id;
	char path[PATH_MAX];
	char message[256];
};

static void on_post(hv_loop *loop, void *ud)
{
	struct post *p = ud;
	fo_op *op = &fo_the_op;
	if (op->conn) {
		switch (p->kind) {
		case POST_ERROR:
			file_operation_client_file_error(op->conn, p->path, p->code, p->message);
			break;
		case POST_CONFLICT:
			file_operation_client_conflict(op->conn, p->id, p->path, p->is_dir);
			break;
		case POST_FINISHED:
			/* The last progress first: the client's bar ends full. */
			send_progress(op, true);
			pthread_mutex_lock(&op->mu);
			uint64_t files = op->files_done, bytes = op->bytes_done, skipped = op->skipped,
				 errors = op->errors;
			pthread_mutex_unlock(&op->mu);
			file_operation_client_finished(op->conn, p->code, files, bytes, skipped, errors,
						       (hv_now_ns() - op->start_ns) / 1000000);
			break;
		}
	}
	if (p->kind == POST_FINISHED && progress_timer) {
		hv_timer_free(progress_timer);
		progress_timer = NULL;
	}
	free(p);
}

static void post(fo_op *op, struct post *p)
{
	if (hv_loop_post(op->loop, on_post, p) < 0) {
		hv_log_error("Failed to post an event to the loop");
		free(p);
	}
}

void fo_post_error(fo_op *op, const char *path, int code, const char *what)
{
	pthread_mutex_lock(&op->mu);
	op->errors++;
	op->changed = true;
	pthread_mutex_unlock(&op->mu);
	struct post *p = calloc(1, sizeof *p);
	if (!p)
		return;
	*p = (struct post){.kind = POST_ERROR, .code = code};
	snprintf(p->path, sizeof p->path, "%s", path);
	snprintf(p->message, sizeof p->message, "%s: %s", what, strerror(-code));
	post(op, p);
}

void fo_post_finished(fo_op *op, int status)
{
	pthread_mutex_lock(&op->mu);
	op->finished = true;
	pthread_mutex_unlock(&op->mu);
	struct post *p = calloc(1, sizeof *p);
	if (!p)
		return;
	*p = (struct post){.kind = POST_FINISHED, .code = status};
	post(op, p);
}

int fo_ask_conflict(fo_op *op, const char *path, bool is_dir)
{
	if (op->conflict != FO_ASK)
		return (int)op->conflict;
	pthread_mutex_lock(&op->mu);
	if (op->conflict_sticky >= 0) {
		int a = op->conflict_sticky;
		pthread_mutex_unlock(&op->mu);
		return a;
	}
	uint64_t id = ++op->conflict_id;
	op->conflict_answer = -1;
	pthread_mutex_unlock(&op->mu);

	struct post *p = calloc(1, sizeof *p);
	if (!p)
		return -ENOMEM;
	*p = (struct post){.kind = POST_CONFLICT, .id = id, .is_dir = is_dir};
	snprintf(p->path, sizeof p->path, "%s", path);
	post(op, p);

	pthread_mutex_lock(&op->mu);
	while (op->conflict_answer < 0 && !atomic_load(&op->cancelled))
		pthread_cond_wait(&op->cv, &op->mu);
	int a = atomic_load(&op->cancelled) ? -ECANCELED : op->conflict_answer;
	pthread_mutex_unlock(&op->mu);
	return a;
}

int fo_checkpoint(fo_op *op)
{
	if (atomic_load(&op->cancelled))
		return -ECANCELED;
	pthread_mutex_lock(&op->mu);
	while (op->paused && !atomic_load(&op->cancelled))
		pthread_cond_wait(&op->cv, &op->mu);
	pthread_mutex_unlock(&op->mu);
	return atomic_load(&op->cancelled) ? -ECANCELED : 0;
}

int64_t fo_debug_pause_at;

void fo_add_bytes(fo_op *op, uint64_t n)
{
	pthread_mutex_lock(&op->mu);
	if (fo_debug_pause_at > 0 && op->bytes_done < (uint64_t)fo_debug_pause_at &&
	    op->bytes_done + n >= (uint64_t)fo_debug_pause_at)
		op->paused = true;
	op->bytes_done += n;
	op->changed = true;
	pthread_mutex_unlock(&op->mu);
}

void fo_set_current(fo_op *op, const char *rel)
{
	pthread_mutex_lock(&op->mu);
	snprintf(op->current, sizeof op->current, "%s", rel);
	op->changed = true;
	pthread_mutex_unlock(&op->mu);
}

/* --- handlers ------------------------------------------------------------ */

static bool one_component(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") != 0 &&
	       strcmp(name, "..") != 0 && strlen(name) <= NAME_MAX;
}

static int is_dir_fd(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
}

static int check_start(hv_call *call, const file_operation_server_start_req *req)
{
	if (fo_the_op.started)
		return hv_call_fail(call, -EBUSY, "this process already ran an operation");
	if (req->kind > FILE_OPERATION_SERVER_KIND_DELETE || req->conflict > FILE_OPERATION_SERVER_CONFLICT_KEEP_BOTH ||
	    req->on_error > FILE_OPERATION_SERVER_ON_ERROR_ABORT)
		return hv_call_fail(call, -EINVAL, "unknown kind, conflict policy or error policy");
	if (!req->sources.count || req->sources.count > FO_MAX_SOURCES)
		return hv_call_fail(call, -EINVAL, "1 to %d sources", FO_MAX_SOURCES);
	if (req->dest_name.present && (req->sources.count != 1 || !one_component(req->dest_name.value)))
		return hv_call_fail(call, -EINVAL, "dest_name: one source, one path component");
	if (!is_dir_fd(req->dest_dir))
		return hv_call_fail(call, -ENOTDIR, "the destination fd is not a directory");
	for (size_t i = 0; i < req->sources.count; i++) {
		const file_operation_server_source *s = &req->sources.items[i];
		if (!one_component(s->name))
			return hv_call_fail(call, -EINVAL, "source %zu: the name must be one path component", i);
		if (!is_dir_fd(s->dir))
			return hv_call_fail(call, -ENOTDIR, "source %zu: the fd is not a directory", i);
	}
	return 0;
}

static int on_start(hv_call *call, const file_operation_server_start_req *req,
		    file_operation_server_start_rep *rep)
{
	int r = check_start(call, req);
	if (r < 0)
		return r;
	fo_op *op = &fo_the_op;
	op->kind = (enum fo_kind)req->kind;
	op->conflict = (enum fo_conflict)req->conflict;
	op->abort_on_error = req->on_error == FILE_OPERATION_SERVER_ON_ERROR_ABORT;
	op->loop = hv_conn_loop(hv_call_conn(call));
	op->conn = hv_call_conn(call);
	for (size_t i = 0; i < req->sources.count; i++) {
		op->src_name[i] = strdup(req->sources.items[i].name);
		if (!op->src_name[i])
			return -ENOMEM;
		hv_call_take_fd(call, req->sources.items[i].dir);
		op->src_dir[i] = req->sources.items[i].dir;
		op->n_src = i + 1;
	}
	hv_call_take_fd(call, req->dest_dir);
	op->dst_dir = req->dest_dir;
	if (req->dest_name.present && !(op->dst_name = strdup(req->dest_name.value)))
		return -ENOMEM;
	op->started = true;
	/* From here on this process sees only what it was handed; the worker,
	 * started after, inherits that view. */
	if ((r = fo_confine(op)) < 0)
		return hv_call_fail(call, r, "cannot confine the process to the given directories");
	/* The client's fd may be O_PATH: moves fsync the directory. */
	if (op->kind != FO_DELETE) {
		int d = openat(op->dst_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d < 0)
			return hv_call_fail(call, -errno, "cannot open the destination directory");
		close(op->dst_dir);
		op->dst_dir = d;
	}
	op->start_ns = hv_now_ns();
	if ((r = hv_loop_add_timer(op->loop, FO_PROGRESS_MS * 1000000ull, FO_PROGRESS_MS * 1000000ull,
				   on_progress_timer, op, &progress_timer)) < 0)
		return r;
	if ((r = -pthread_create(&op->thread, NULL, fo_worker, op)) < 0) {
		op->thread = 0;
		return hv_call_fail(call, r, "cannot start the worker thread");
	}
	return 0;
}

static void wake(fo_op *op) { pthread_cond_broadcast(&op->cv); }

static int on_pause(hv_call *call, const file_operation_server_pause_req *req)
{
	pthread_mutex_lock(&fo_the_op.mu);
	fo_the_op.paused = true;
	fo_the_op.changed = true;
	pthread_mutex_unlock(&fo_the_op.mu);
	return 0;
}

static int on_resume(hv_call *call, const file_operation_server_resume_req *req)
{
	pthread_mutex_lock(&fo_the_op.mu);
	fo_the_op.paused = false;
	fo_the_op.changed = true;
	wake(&fo_the_op);
	pthread_mutex_unlock(&fo_the_op.mu);
	return 0;
}

static int on_cancel(hv_call *call, const file_operation_server_cancel_req *req)
{
	pthread_mutex_lock(&fo_the_op.mu);
	atomic_store(&fo_the_op.cancelled, true);
	wake(&fo_the_op);
	pthread_mutex_unlock(&fo_the_op.mu);
	return 0;
}

static int on_resolve_conflict(hv_call *call, const file_operation_server_resolve_conflict_req *req)
{
	fo_op *op = &fo_the_op;
	if (req->decision > FILE_OPERATION_SERVER_CONFLICT_KEEP_BOTH)
		return -EINVAL; /* a one-way message: the runtime logs it */
	pthread_mutex_lock(&op->mu);
	if (req->id == op->conflict_id && op->conflict_answer < 0) {
		if (req->decision == FILE_OPERATION_SERVER_CONFLICT_ASK)
			atomic_store(&op->cancelled, true);
		op->conflict_answer = (int)req->decision;
		if (req->all)
			op->conflict_sticky = (int)req->decision;
		wake(op);
	}
	pthread_mutex_unlock(&op->mu);
	return 0;
}

const file_operation_server_handlers fo_handlers = {
	.start = on_start,
	.pause = on_pause,
	.resume = on_resume,
	.cancel = on_cancel,
	.resolve_conflict = on_resolve_conflict,
};
