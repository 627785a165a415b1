/* ImageDecoder.c — handlers of ImageDecoderServer.ipc and the decode
 * worker. A job holds the client's input buffer; the worker decodes it
 * into shared memory (a still image's frame is allocated in a memfd and
 * sent without a copy; animation frames are gathered into one strip) and
 * posts the job back to the loop, which replies (decode_image) or sends
 * the event (start_decode). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <haven/log.h>

#include "ImageDecoder.h"
#include "image.h"

struct job {
	struct job *next;
	int64_t id;
	hv_call *call; /* held sync call, or NULL for start_decode */
	hv_conn *conn;
	hv_buffer data;
	uint32_t ideal_w, ideal_h;
	char hint[64];
	volatile bool cancel;
	/* results, filled by the worker */
	int r;
	img_error err;
	image_decoder_server_decoded_image out;
	uint32_t *durations;
	hv_buffer first; /* the first frame's shared memory */
	/* decode_image_into: the client's buffer (writable, its pool), what
	 * of it the first frame was written to (0: unused), and whether the
	 * answer is in it. */
	hv_buffer output;
	size_t output_used;
	bool output_streamed, in_output;
	bool into; /* answered as decode_image_into */
};

static hv_loop *the_loop;
static const img_config *cfg;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job *queue_head, **queue_tail = &queue_head;
static struct job *running; /* the job the worker holds (for cancel) */
static bool client_gone; /* one client per process: once gone, jobs only end */

/* --- allocation: frame 0 in shared memory, later frames on the heap ---- */

static void *job_alloc(void *ud, size_t size)
{
	struct job *j = ud;
	if (j->first.fd < 0 && !j->output_used && j->output.data && size <= j->output.size) {
		/* The client's pages, there already when warm: map them all
		 * in one call (allocating those that are not). */
		if (madvise(j->output.data, size, MADV_POPULATE_WRITE) == 0) {
			j->output_used = size;
			return j->output.data;
		}
	}
	if (j->first.fd < 0) {
		if (hv_buffer_create(size, &j->first) < 0)
			return NULL;
		/* Allocate the shmem pages in one call (no fault per page), then
		 * map them all in one call: page by page, a 64 MiB shmem frame
		 * costs more than its decode. fallocate first saves ~10 % of
		 * the shared-memory cost (bench/ImageDecoder) and turns a full
		 * tmpfs into ENOMEM here rather than SIGBUS mid-decode. */
		if (fallocate(j->first.fd, 0, 0, (off_t)size) < 0) {
			hv_buffer_release(&j->first);
			return NULL;
		}
		madvise(j->first.data, size, MADV_POPULATE_WRITE);
		/* No recency tracking: unmapping then skips marking each of the
		 * 16384 pages of a 64 MiB frame accessed (an LRU move each),
		 * ~1.7 ms less; shmem has no readahead for it to change. */
		madvise(j->first.data, size, MADV_RANDOM);
		return j->first.data;
	}
	return malloc(size);
}

/* A streamed frame: the shared memory without a mapping here; rows
 * arrive by pwrite (allocated up front, as above). */
static int job_stream_begin(void *ud, size_t size)
{
	struct job *j = ud;
	if (j->first.fd >= 0 || j->output_used)
		return -EBUSY;
	if (j->output.fd >= 0 && size <= j->output.size) {
		j->output_used = size; /* rows arrive by pwrite, as below */
		j->output_streamed = true;
		return 0;
	}
	int r = hv_buffer_create(size, &j->first);
	if (r < 0)
		return r;
	if (fallocate(j->first.fd, 0, 0, (off_t)size) < 0) {
		r = -errno;
		hv_buffer_release(&j->first);
		return r;
	}
	hv_buffer mapping = j->first; /* untouched: unmapping it costs nothing */
	mapping.fd = -1;
	hv_buffer_release(&mapping);
	j->first.data = NULL;
	return 0;
}

static int job_write(void *ud, const void *data, size_t len, size_t offset)
{
	struct job *j = ud;
	int fd = j->output_streamed ? j->output.fd : j->first.fd;
	while (len > 0) {
		ssize_t n = pwrite(fd, data, len, (off_t)offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		data = (const uint8_t *)data + n;
		len -= (size_t)n;
		offset += (size_t)n;
	}
	return 0;
}

static void job_free(void *ud, void *p, size_t size)
{
	struct job *j = ud;
	if (p && p == j->output.data)
		return; /* the client's; job_drop_output clears what was written */
	if (p && j->first.fd >= 0 && p == j->first.data)
		hv_buffer_release(&j->first);
	else
		free(p);
}

/* Before the answer: the client's buffer unmapped and closed (the decoder
 * keeps nothing of it), and what was written to it but not answered in it
 * (a failed or scaled decode, an animation's first frame) zeroed, so the
 * buffer goes back as it came: no pixels of this decode in it. */
static void job_drop_output(struct job *j)
{
	if (j->output_used && !j->in_output) {
		if (j->output.data)
			memset(j->output.data, 0, j->output_used);
		else
			fallocate(j->output.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				  (off_t)j->output_used);
	}
	hv_buffer_release(&j->output);
}

static void job_release(struct job *j)
{
	hv_buffer_release(&j->output);
	hv_buffer_release(&j->data);
	hv_buffer_release(&j->first);
	hv_bitmap_release(&j->out.frames);
	free(j->durations);
	free(j);
}

/* Turn the decoded image into the reply: zero-copy for one frame, scaled
 * or not (a scaled image's full-size frame stayed on the heap, decode.c). */
static int job_finish(struct job *j, img_image *img)
{
	size_t frame_bytes = (size_t)img->width * img->height * 4;
	hv_bitmap *bm = &j->out.frames;
	j->durations = calloc(img->frame_count, sizeof(uint32_t));
	if (!j->durations)
		return -ENOMEM;
	for (uint32_t i = 0; i < img->frame_count; i++)
		j->durations[i] = img->frames[i].duration_ms;
	if (img->frame_count == 1 && j->output_used &&
	    (j->output_streamed ? img->streamed : img->frames[0].pixels == j->output.data)) {
		/* In the client's buffer: only the description goes back. */
		j->in_output = true;
		img->frames[0].pixels = NULL;
	} else if (img->frame_count == 1 && j->first.fd >= 0 && (img->streamed || img->frames[0].pixels == j->first.data)) {
		/* Only the fd goes out: unmap our copy now, before the client
		 * maps its own, so the two do not fight over the same 16384
		 * page structures from both CPUs (the client's MADV_POPULATE_READ
		 * of a 64 MiB frame: 6 -> 4.5 ms, strace -T). */
		hv_buffer mapping = j->first;
		mapping.fd = -1;
		hv_buffer_release(&mapping);
		bm->buffer = (hv_buffer){.fd = j->first.fd, .size = j->first.size};
		j->first = HV_BUFFER_EMPTY;
		img->frames[0].pixels = NULL; /* now owned by the bitmap */
	} else {
		int r = hv_buffer_create(frame_bytes * img->frame_count, &bm->buffer);
		if (r < 0)
			return r;
		for (uint32_t i = 0; i < img->frame_count; i++)
			memcpy((uint8_t *)bm->buffer.data + frame_bytes * i, img->frames[i].pixels, frame_bytes);
	}
	/* In the client's buffer: an empty 0x0 bitmap, the rest describes. */
	*bm = (hv_bitmap){.width = j->in_output ? 0 : img->width,
			  .height = j->in_output ? 0 : img->height * img->frame_count,
			  .stride = j->in_output ? 0 : img->width * 4,
			  .format = HV_PIXEL_BGRA8888,
			  .buffer = bm->buffer};
	j->out = (image_decoder_server_decoded_image){
		.format = img->format,
		.width = img->width,
		.height = img->height,
		.frame_count = img->frame_count,
		.is_animated = img->animated,
		.loop_count = img->loop_count,
		.orientation = img->orientation,
		.hotspot = {.present = img->has_hotspot,
			    .value = {(int32_t)img->hotspot_x, (int32_t)img->hotspot_y}},
		.frames = *bm,
		.durations = {.items = j->durations, .count = img->frame_count},
	};
	return 0;
}

static void job_decode(struct job *j)
{
	img_options opt;
	img_options_default(&opt);
	opt.max_pixels = cfg->max_pixels;
	opt.max_total_pixels = cfg->max_total_pixels;
	opt.cancel = &j->cancel;
	opt.ideal_width = j->ideal_w;
	opt.ideal_height = j->ideal_h;
	opt.hint = j->hint[0] ? j->hint : NULL;
	img_allocator alloc = {job_alloc, job_free, j, job_stream_begin, job_write};
	img_image img;
	j->first = HV_BUFFER_EMPTY;
	j->out.frames.buffer = HV_BUFFER_EMPTY;
	if (j->cancel) {
		j->r = -ECANCELED;
		snprintf(j->err.message, sizeof(j->err.message), "decode cancelled");
		return;
	}
	madvise(j->data.data, j->data.size, MADV_POPULATE_READ); /* same, for the input */
	uint64_t t0 = hv_now_ns();
	j->r = img_decode(j->data.data, j->data.size, &opt, &alloc, &img, &j->err);
	uint64_t t1 = hv_now_ns();
	if (j->r < 0)
		return;
	j->r = job_finish(j, &img);
	hv_log_debug("image %lld: %s %ux%u, %u frame(s): decoded in %.3f ms, packed in %.3f ms", (long long)j->id,
		     img.format, img.width, img.height, img.frame_count, (t1 - t0) / 1e6, (hv_now_ns() - t1) / 1e6);
	if (j->r < 0)
		snprintf(j->err.message, sizeof(j->err.message), "out of memory for the decoded frames");
	img_free(&img);
}

/* --- loop side ------------------------------------------------------------ */

static void job_done(hv_loop *loop, void *userdata)
{
	struct job *j = userdata;
	const char *msg = j->err.message[0] ? j->err.message : "decoding failed";
	if (j->call) {
		if (j->r < 0)
			hv_call_respond_error(j->call, j->r, msg);
		else if (j->into)
			image_decoder_server_decode_image_into_respond(j->call,
				&(image_decoder_server_decode_image_into_rep){.image = j->out,
									     .in_output = j->in_output});
		else
			image_decoder_server_decode_image_respond(j->call,
				&(image_decoder_server_decode_image_rep){.image = j->out});
	} else if (j->conn && !client_gone) {
		if (j->r < 0)
			image_decoder_client_did_fail_to_decode_image(j->conn, j->id, j->r, msg);
		else
			image_decoder_client_did_decode_image(j->conn, j->id, j->out);
	}
	/* Send now: unmapping a large frame below takes milliseconds the
	 * client need not wait for. */
	if (j->conn && !client_gone && hv_conn_is_open(j->conn))
		hv_conn_flush(j->conn);
	job_release(j);
}

static void *worker(void *arg)
{
	for (;;) {
		pthread_mutex_lock(&lock);
		while (!queue_head)
			pthread_cond_wait(&wake, &lock);
		struct job *j = queue_head;
		queue_head = j->next;
		if (!queue_head)
			queue_tail = &queue_head;
		running = j;
		pthread_mutex_unlock(&lock);

		job_decode(j);
		job_drop_output(j); /* before the answer, whatever it is */

		pthread_mutex_lock(&lock);
		running = NULL;
		pthread_mutex_unlock(&lock);
		if (hv_loop_post(the_loop, job_done, j) < 0)
			job_release(j); /* the loop is gone: so is the client */
	}
	return NULL;
}

void img_client_fini(hv_conn *c, void *state)
{
	client_gone = true;
}

int img_worker_start(hv_loop *loop, const img_config *config)
{
	the_loop = loop;
	cfg = config;
	pthread_t t;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&t, &attr, worker, NULL);
	pthread_attr_destroy(&attr);
	return r ? hv_log_errno(-r, "Failed to start the decode worker") : 0;
}

/* Take the request's buffer and queue a job; fills *out. */
static int queue_job(hv_call *call, const hv_buffer *data, const hv_opt_int_size *ideal,
		     const hv_opt_bytestring *mime, struct job **out)
{
	if (data->size == 0 || !data->data)
		return hv_call_fail(call, IMG_ETRUNCATED, "empty input");
	if (data->size > cfg->max_input)
		return hv_call_fail(call, IMG_ETOOLARGE, "input of %zu bytes exceeds the limit of %llu",
				    data->size, (unsigned long long)cfg->max_input);
	if (ideal->present && (ideal->value.width < 0 || ideal->value.height < 0))
		return hv_call_fail(call, -EINVAL, "negative ideal size");
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	int r = hv_call_take_buffer(call, data);
	if (r < 0) {
		free(j);
		return r;
	}
	j->data = *data;
	j->output = HV_BUFFER_EMPTY;
	j->first = HV_BUFFER_EMPTY;
	j->out.frames.buffer = HV_BUFFER_EMPTY;
	j->conn = hv_call_conn(call);
	j->id = ++((struct img_client *)hv_call_state(call))->last_id; /* from 1 */
	if (ideal->present) {
		j->ideal_w = (uint32_t)ideal->value.width;
		j->ideal_h = (uint32_t)ideal->value.height;
	}
	if (mime->present)
		snprintf(j->hint, sizeof(j->hint), "%s", mime->value);
	*out = j;
	return 0;
}

static void enqueue(struct job *j)
{
	pthread_mutex_lock(&lock);
	*queue_tail = j;
	queue_tail = &j->next;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

static int on_decode_image(hv_call *call, const image_decoder_server_decode_image_req *req,
			   image_decoder_server_decode_image_rep *rep)
{
	struct job *j;
	int r = queue_job(call, &req->data, &req->ideal_size, &req->mime_type, &j);
	if (r < 0)
		return r;
	j->call = hv_call_hold(call);
	enqueue(j);
	return HV_IPC_DEFERRED;
}

static int on_decode_image_into(hv_call *call, const image_decoder_server_decode_image_into_req *req,
				image_decoder_server_decode_image_into_rep *rep)
{
	if (req->output.readonly || !req->output.data)
		return hv_call_fail(call, -EINVAL, "the output buffer must be writable and not empty");
	struct job *j;
	int r = queue_job(call, &req->data, &req->ideal_size, &req->mime_type, &j);
	if (r < 0)
		return r;
	if ((r = hv_call_take_buffer(call, &req->output)) < 0) {
		job_release(j);
		return r;
	}
	j->output = req->output;
	j->into = true;
	j->call = hv_call_hold(call);
	enqueue(j);
	return HV_IPC_DEFERRED;
}

static int on_start_decode(hv_call *call, const image_decoder_server_start_decode_req *req,
			   image_decoder_server_start_decode_rep *rep)
{
	struct job *j;
	int r = queue_job(call, &req->data, &req->ideal_size, &req->mime_type, &j);
	if (r < 0)
		return r;
	rep->image_id = j->id;
	enqueue(j);
	return 0;
}

static int on_cancel_decode(hv_call *call, const image_decoder_server_cancel_decode_req *req)
{
	pthread_mutex_lock(&lock);
	for (struct job *j = queue_head; j; j = j->next)
		if (j->id == req->image_id && !j->call)
			j->cancel = true;
	if (running && running->id == req->image_id && !running->call)
		running->cancel = true;
	pthread_mutex_unlock(&lock);
	return 0;
}

static int on_get_status(hv_call *call, const image_decoder_server_get_status_req *req,
			 image_decoder_server_get_status_rep *rep)
{
	*rep = (image_decoder_server_get_status_rep){
		.pid = (int32_t)getpid(),
		.max_pixels = cfg->max_pixels,
		.max_total_pixels = cfg->max_total_pixels,
		.max_input_bytes = cfg->max_input,
		.max_memory_bytes = cfg->max_memory,
		.cpu_seconds = cfg->cpu_seconds,
		.formats = img_formats(),
	};
	return 0;
}

static int on_debug_try_escape(hv_call *call, const image_decoder_server_debug_try_escape_req *req,
			       image_decoder_server_debug_try_escape_rep *rep)
{
	if (!cfg->debug_hooks)
		return hv_call_fail(call, -EPERM, "debug hooks are off (start with --debug-hooks)");
	int fd = -1;
	if (req->what == 1)
		fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
	else if (req->what == 2)
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	else if (req->what == 3)
		for (volatile uint64_t spin = 0;; spin++) /* a runaway decode: RLIMIT_CPU ends it */
			;
	else
		return hv_call_fail(call, -EINVAL, "unknown escape %u", req->what);
	/* Reached only if the sandbox let the call through (or failed it
	 * with an errno instead of killing: debug mode). */
	rep->result = fd < 0 ? -errno : 0;
	if (fd >= 0)
		close(fd);
	return 0;
}

const image_decoder_server_handlers img_handlers = {
	.decode_image = on_decode_image,
	.start_decode = on_start_decode,
	.cancel_decode = on_cancel_decode,
	.get_status = on_get_status,
	.debug_try_escape = on_debug_try_escape,
	.decode_image_into = on_decode_image_into,
};
