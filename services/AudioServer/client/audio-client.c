/* audio-client.c — AudioServer's client library (audio-client.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio-client.h"

struct aud_stream {
	hv_conn *conn;
	uint32_t id, capacity, frame_bytes;
	hv_buffer ring;
	int space_fd, data_fd;
	struct aud_ring_header *hdr;
	uint8_t *data;
};

int aud_connect(const char *socket_path, hv_conn **out)
{
	return socket_path ? hv_conn_connect(NULL, socket_path, out)
			   : hv_conn_connect_portal(NULL, AUD_PORTAL, out);
}

int aud_on_events(hv_conn *c, const audio_client_handlers *handlers)
{
	static const audio_client_handlers ignore = {0};
	return hv_conn_serve(c, &audio_client_endpoint, handlers ? handlers : &ignore);
}

static void stream_free(aud_stream *s)
{
	hv_buffer_release(&s->ring);
	if (s->space_fd >= 0)
		close(s->space_fd);
	if (s->data_fd >= 0)
		close(s->data_fd);
	free(s);
}

int aud_stream_open(hv_conn *c, const struct aud_params *p, aud_stream **out)
{
	audio_server_stream_params sp = {.rate = p->rate, .channels = p->channels,
					 .format = p->format, .buffer_frames = p->buffer_frames,
					 .name = p->name ? p->name : ""};
	aud_stream *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->conn = c;
	s->ring = HV_BUFFER_EMPTY;
	s->space_fd = s->data_fd = -1;
	uint32_t rate, quantum;
	int r = audio_server_open_stream(c, sp, p->sink ? p->sink : "", &s->id, &s->ring,
					 &s->space_fd, &s->data_fd, &s->capacity, &rate, &quantum);
	if (r < 0) {
		free(s);
		return r;
	}
	s->hdr = s->ring.data;
	s->data = (uint8_t *)s->ring.data + AUD_RING_HEADER_SIZE;
	s->frame_bytes = s->hdr->frame_bytes;
	/* The server made the ring; still, never index past what is mapped. */
	if (s->ring.size < AUD_RING_HEADER_SIZE || s->hdr->magic != AUD_RING_MAGIC ||
	    s->hdr->capacity != s->capacity || !s->frame_bytes ||
	    (s->ring.size - AUD_RING_HEADER_SIZE) / s->frame_bytes < s->capacity) {
		stream_free(s);
		return -EPROTO;
	}
	*out = s;
	return 0;
}

int aud_stream_close(aud_stream *s)
{
	if (!s)
		return 0;
	int r = hv_conn_is_open(s->conn) ? audio_server_close_stream(s->conn, s->id) : 0;
	stream_free(s);
	return r;
}

uint32_t aud_stream_id(const aud_stream *s) { return s->id; }
size_t aud_stream_frame_bytes(const aud_stream *s) { return s->frame_bytes; }
uint32_t aud_stream_capacity(const aud_stream *s) { return s->capacity; }
struct aud_ring_header *aud_stream_header(aud_stream *s) { return s->hdr; }
void *aud_stream_samples(aud_stream *s) { return s->data; }

size_t aud_stream_space(const aud_stream *s)
{
	uint64_t used = atomic_load(&s->hdr->write_pos) - atomic_load(&s->hdr->read_pos);
	return used >= s->capacity ? 0 : s->capacity - (size_t)used;
}

size_t aud_stream_write(aud_stream *s, const void *frames, size_t n)
{
	size_t room = aud_stream_space(s);
	if (n > room)
		n = room;
	uint64_t w = atomic_load_explicit(&s->hdr->write_pos, memory_order_relaxed);
	const uint8_t *src = frames;
	for (size_t done = 0; done < n;) {
		size_t slot = (size_t)((w + done) % s->capacity), run = s->capacity - slot;
		if (run > n - done)
			run = n - done;
		memcpy(s->data + slot * s->frame_bytes, src + done * s->frame_bytes, run * s->frame_bytes);
		done += run;
	}
	atomic_store(&s->hdr->write_pos, w + n);
	if (n && atomic_load(&s->hdr->want_data) && atomic_exchange(&s->hdr->want_data, 0)) {
		uint64_t one = 1;
		(void)!write(s->data_fd, &one, sizeof one);
	}
	return n;
}

/* Sleep until the server moved read_pos (or timeout_ms), dispatching
 * events meanwhile; -EPIPE when the server is gone. */
static int wait_server(aud_stream *s, int timeout_ms)
{
	struct pollfd p[2] = {{.fd = s->space_fd, .events = POLLIN},
			      {.fd = hv_conn_fd(s->conn), .events = POLLIN}};
	int r = poll(p, 2, timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (p[0].revents & POLLIN) {
		uint64_t n;
		(void)!read(s->space_fd, &n, sizeof n);
	}
	if (p[1].revents) {
		r = hv_conn_dispatch(s->conn, 0);
		if (r < 0 || !hv_conn_is_open(s->conn))
			return r < 0 ? r : -EPIPE;
	}
	return 0;
}

int aud_stream_wait_space(aud_stream *s, size_t frames, int timeout_ms)
{
	if (frames > s->capacity)
		frames = s->capacity;
	while (aud_stream_space(s) < frames) {
		atomic_store_explicit(&s->hdr->space_wanted, (uint32_t)frames, memory_order_relaxed);
		atomic_store(&s->hdr->want_space, 1);
		if (aud_stream_space(s) >= frames)
			break;
		if (atomic_load(&s->hdr->state) == AUDIO_SERVER_STREAM_STATE_FAILED)
			return -EPROTO;
		int r = wait_server(s, timeout_ms);
		if (r < 0)
			return r;
	}
	return 0;
}

int aud_stream_write_all(aud_stream *s, const void *frames, size_t n, int timeout_ms)
{
	const uint8_t *p = frames;
	while (n) {
		size_t k = aud_stream_write(s, p, n);
		p += k * s->frame_bytes;
		n -= k;
		if (n) {
			/* Half the ring at a time: few wake-ups, never empty. */
			size_t want = s->capacity / 2 < n ? s->capacity / 2 : n;
			int r = aud_stream_wait_space(s, want ? want : 1, timeout_ms);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int aud_stream_drain(aud_stream *s, int timeout_ms)
{
	atomic_store(&s->hdr->eos, 1);
	for (;;) {
		atomic_store_explicit(&s->hdr->space_wanted, 0, memory_order_relaxed);
		atomic_store(&s->hdr->want_space, 1);
		uint32_t state = atomic_load(&s->hdr->state);
		if (state == AUDIO_SERVER_STREAM_STATE_DRAINED)
			return 0;
		if (state == AUDIO_SERVER_STREAM_STATE_FAILED)
			return -EPROTO;
		int r = wait_server(s, timeout_ms);
		if (r < 0)
			return r;
	}
}

const char *aud_format_name(unsigned format)
{
	static const char *const names[] = {"s16", "s32", "f32"};
	return format < 3 ? names[format] : "?";
}

const char *aud_state_name(unsigned state)
{
	static const char *const names[] = {"prebuffering", "playing", "underrun",
					    "paused", "drained", "failed"};
	return state < 6 ? names[state] : "?";
}
