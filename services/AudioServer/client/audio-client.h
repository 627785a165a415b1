/* audio-client.h — AudioServer's client library: connect, open a stream,
 * write samples into its shared ring (no message per buffer), wait for
 * room or for the end, and the control calls the CLI makes. A stream is
 * used from one thread. Functions return a negative errno or one of
 * AudioServer.ipc's typed errors (AUDIO_SERVER_ERR_*; hv_conn_strerror
 * has the server's words). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "AudioClient.ipc.h"
#include "AudioServer.ipc.h"
#include "audio-ring.h"

/* The portal SystemServer serves AudioServer on. */
#define AUD_PORTAL "audio"

typedef struct aud_stream aud_stream;

struct aud_params {
	uint32_t rate;		/* 8000..192000 */
	uint16_t channels;	/* 1..8 */
	uint8_t format;		/* AUDIO_SERVER_SAMPLE_FORMAT_* */
	uint32_t buffer_frames; /* 0: the server's default */
	const char *name;	/* NULL: "" */
	const char *sink;	/* NULL: the first sink */
};

/* Connect to socket_path, or to the portal when it is NULL (no loop: sync
 * calls; events are dispatched while aud_stream_* wait). */
int aud_connect(const char *socket_path, hv_conn **out);
/* Events of the client's streams (AudioClient.ipc), on c from now on;
 * handlers NULL: received and ignored. Call it before opening a stream:
 * the server sends them, and an unserved endpoint ends the connection. */
int aud_on_events(hv_conn *c, const audio_client_handlers *handlers);

int aud_stream_open(hv_conn *c, const struct aud_params *p, aud_stream **out);
/* close_stream, then unmap and free (NULL-safe). */
int aud_stream_close(aud_stream *s);
uint32_t aud_stream_id(const aud_stream *s);
size_t aud_stream_frame_bytes(const aud_stream *s);
/* Frames that fit now. */
size_t aud_stream_space(const aud_stream *s);
/* Copy up to n frames (what fits) into the ring; returns how many. */
size_t aud_stream_write(aud_stream *s, const void *frames, size_t n);
/* All n frames, waiting for room (timeout_ms per wait, -1: forever). */
int aud_stream_write_all(aud_stream *s, const void *frames, size_t n, int timeout_ms);
/* Wait until at least `frames` fit (capped at the capacity). */
int aud_stream_wait_space(aud_stream *s, size_t frames, int timeout_ms);
/* Mark the end of the data and wait until all of it was played. */
int aud_stream_drain(aud_stream *s, int timeout_ms);
/* The ring's header (the sink clock, the stream's start position, its
 * state and underruns, as the server last wrote them). */
struct aud_ring_header *aud_stream_header(aud_stream *s);
/* Bytes of the sample area (tests write garbage there). */
void *aud_stream_samples(aud_stream *s);
uint32_t aud_stream_capacity(const aud_stream *s);

/* Names for the enums (CLI, logs). */
const char *aud_format_name(unsigned format);
const char *aud_state_name(unsigned state);
