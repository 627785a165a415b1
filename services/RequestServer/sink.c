/* sink.c — a response body into the fd the client handed over.
 *
 * A regular file (a download) is written as it comes. A pipe or socket is
 * the client's reading end: written without blocking, and when it is full
 * the rest of libcurl's chunk waits here while the transfer is paused
 * (CURL_WRITEFUNC_PAUSE), so a slow reader slows the server down through
 * TCP instead of growing this process. Once the fd is writable again the
 * rest is written and the transfer resumed. A reader that went away
 * (EPIPE) cancels the transfer. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include <haven/log.h>
#include <haven/loop.h>

#include "RequestServer.h"

int rqs_sink_open(struct rqs_request *r, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	r->out_fd = fd;
	r->out_stream = !S_ISREG(st.st_mode);
	if (r->out_stream) {
		int fl = fcntl(fd, F_GETFL);
		if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			return -errno;
	}
	if ((st.st_mode & S_IFMT) == S_IFDIR)
		return -EISDIR;
	return 0;
}

/* Write what can be written; 0 when all of it, -EAGAIN with *done set when
 * the fd is full, another negative errno when it failed. */
static int write_some(struct rqs_request *r, const uint8_t *p, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = write(r->out_fd, p + *done, len - *done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		*done += (size_t)n;
		r->written += (uint64_t)n;
	}
	return 0;
}

static void on_writable(hv_loop *loop, int fd, uint32_t events, void *userdata);

static int wait_writable(struct rqs_request *r)
{
	if (r->out_watch)
		return hv_watch_set_events(r->out_watch, HV_IO_WRITE);
	return hv_loop_add_fd(rqs.loop, r->out_fd, HV_IO_WRITE, on_writable, r, &r->out_watch);
}

static void sink_failed(struct rqs_request *r, int err)
{
	r->sink_err = err;
	if (r->state == RQS_RUNNING) {
		/* A transfer ends through libcurl: abort it from its loop. */
		rqs_multi_remove(r);
	}
	if (err == -EPIPE)
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_CANCELLED, "the client stopped reading the body");
	else
		rqs_request_fail(r, REQUEST_SERVER_ERROR_KIND_IO, "writing the body: %s", strerror(-err));
}

static void on_writable(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	(void)loop, (void)fd, (void)events;
	struct rqs_request *r = userdata;
	size_t done;
	int e = write_some(r, r->pending + r->pending_off, r->pending_len - r->pending_off, &done);
	r->pending_off += done;
	if (e == -EAGAIN)
		return;
	if (e < 0)
		return sink_failed(r, e);
	r->pending_len = r->pending_off = 0;
	hv_watch_set_events(r->out_watch, 0);
	if (r->done) {
		rqs_request_finish(r);
		return;
	}
	if (r->paused && r->gemini) {
		rqs_gemini_resume(r);
	} else if (r->paused) {
		r->paused = false;
		/* May call rqs_sink_write at once with what libcurl kept. */
		curl_easy_pause(r->easy, CURLPAUSE_CONT);
	}
}

size_t rqs_sink_write(char *data, size_t size, size_t n, void *userdata)
{
	struct rqs_request *r = userdata;
	size_t len = size * n;
	if (r->redirecting)
		return len; /* the body of a redirect that is followed */
	if (r->pending_len) {
		r->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	size_t done;
	int e = write_some(r, (const uint8_t *)data, len, &done);
	if (e == -EAGAIN) {
		/* Keep the rest (at most one libcurl write), pause on the next. */
		uint8_t *p = realloc(r->pending, len - done);
		if (!p) {
			r->sink_err = -ENOMEM;
			return 0;
		}
		r->pending = p;
		memcpy(p, data + done, len - done);
		r->pending_len = len - done;
		r->pending_off = 0;
		if (wait_writable(r) < 0) {
			r->sink_err = -ENOMEM;
			return 0;
		}
		return len;
	}
	if (e < 0) {
		r->sink_err = e;
		return 0; /* libcurl ends the transfer with CURLE_WRITE_ERROR */
	}
	return len;
}

bool rqs_sink_drained(struct rqs_request *r)
{
	return r->pending_len == 0 || r->out_fd < 0;
}

void rqs_sink_close(struct rqs_request *r)
{
	hv_watch_free(r->out_watch);
	r->out_watch = NULL;
	hv_close(&r->out_fd);
	free(r->pending);
	r->pending = NULL;
	r->pending_len = r->pending_off = 0;
}
