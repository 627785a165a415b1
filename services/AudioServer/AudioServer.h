/* AudioServer.h — what the AudioServer's files share: sinks (a device and
 * the mixing thread that feeds it), streams (a client's ring and its
 * conversion to the sink's rate and channels), and the queue the event loop
 * uses to hand streams to a mixing thread without a lock.
 *
 * Threads: the event loop (AudioServer.c) owns every allocation and all
 * IPC; each sink has one mixing thread (mixer.c) that only reads rings,
 * converts, mixes and writes the device. They meet in three places, all
 * lock-free: a single-producer/single-consumer command queue per sink
 * (loop -> thread: add/remove a stream, start/stop a recording), an
 * acknowledgement queue back (thread -> loop, with an eventfd to wake the
 * loop, which then frees what the thread let go of), and atomics for
 * volumes, mute, pause, quantum and the counters/events the loop reports. */
#pragma once

#include <pthread.h>
#include <soxr.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/options.h>

#include "AudioClient.ipc.h"
#include "AudioServer.ipc.h"
#include "audio-ring.h"

#define AUS_CHANNELS 2		 /* every sink is stereo (docs/audioserver.md) */
#define AUS_DEFAULT_RATE 48000
#define AUS_MIN_RATE 8000
#define AUS_MAX_RATE 192000
#define AUS_MAX_CHANNELS 8
#define AUS_MIN_QUANTUM 64
#define AUS_MAX_QUANTUM 2048
#define AUS_DEFAULT_QUANTUM 256
#define AUS_DEFAULT_BUFFER 8192	 /* frames of a ring when the client says 0 */
#define AUS_MIN_BUFFER 256
#define AUS_MAX_BUFFER 262144
#define AUS_MAX_SINKS 16
#define AUS_MAX_STREAMS 64	 /* per sink, and per server */
#define AUS_MAX_VOLUME 4.0f
#define AUS_CMDQ_SIZE 256	 /* a power of two */
/* Input frames converted per step of a resampled stream: the scratch
 * buffer each stream preallocates. */
#define AUS_CHUNK 512
/* The limiter: identity up to the knee, then a tanh curve that reaches
 * full scale only at infinity (a soft clip with a linear region below
 * -2.5 dBFS: a sum under the knee is bit-exact). */
#define AUS_LIMIT_KNEE 0.75f

enum aus_sink_kind { AUS_SINK_NULL, AUS_SINK_FILE, AUS_SINK_ALSA };

enum aus_cmd_op { AUS_CMD_ADD = 1, AUS_CMD_REMOVE, AUS_CMD_RECORD, AUS_CMD_UNRECORD };

struct aus_cmd {
	uint32_t op;
	void *ptr; /* a struct aus_stream, or a SNDFILE for the recording ops */
};

/* Single producer, single consumer. */
struct aus_cmdq {
	struct aus_cmd slot[AUS_CMDQ_SIZE];
	_Atomic uint32_t head; /* producer */
	_Atomic uint32_t tail; /* consumer */
};
bool aus_cmdq_push(struct aus_cmdq *q, struct aus_cmd c);
bool aus_cmdq_pop(struct aus_cmdq *q, struct aus_cmd *out);

/* Events the mixing thread raises for the loop (aus_stream.events). */
enum { AUS_EV_STATE = 1, AUS_EV_UNDERRUN = 2 };

struct aus_sink;

struct aus_stream {
	/* Loop-owned. */
	uint32_t id;
	char *name;
	pid_t pid;
	hv_conn *owner; /* NULL once its client left */
	struct aus_sink *sink;	     /* where it plays (or is being added) */
	struct aus_sink *move_to;    /* a move waits for the old sink's ack */
	bool closing;		     /* freed when the sink acknowledges */
	hv_buffer ring;
	int space_fd, data_fd; /* eventfds; the client holds duplicates */
	hv_watch *data_watch;
	struct aud_ring_header *hdr;
	uint8_t *data;
	uint32_t capacity, frame_bytes, rate;
	uint8_t channels, format;
	uint32_t reported_state;
	uint64_t reported_underruns;
	struct aus_stream *next; /* the loop's list of every stream */

	/* Mixing-thread-owned (touched by the loop only while no sink has it). */
	uint64_t rpos;
	bool started, flushed;
	bool draining; /* soxr was told the input ended: it takes no more */
	uint64_t skip; /* resampled frames of the priming still to drop */
	soxr_t soxr;  /* NULL: same rate as the sink */
	float *chunk; /* AUS_CHUNK * AUS_CHANNELS converted input frames */

	/* Shared. */
	_Atomic float volume;
	_Atomic bool muted, paused;
	_Atomic uint32_t state;
	_Atomic uint64_t underruns, played;
	_Atomic uint32_t events;
};

struct aus_sink_dev; /* sink.c */

struct aus_sink {
	char *name;
	enum aus_sink_kind kind;
	char *device; /* the file's path, the ALSA device name */
	uint32_t rate;
	struct aus_sink_dev *dev;
	pthread_t thread;
	bool running;
	int notify_fd; /* eventfd: the thread -> the loop (acks, events) */
	struct aus_cmdq cmds, acks;
	void *recorder; /* the struct aus_conn recording it (loop-owned) */

	/* Mixing-thread-owned. */
	struct aus_stream *active[AUS_MAX_STREAMS];
	unsigned n_active;
	void *recording; /* SNDFILE */
	uint32_t quantum;
	float mix[AUS_MAX_QUANTUM * AUS_CHANNELS];
	float tmp[AUS_MAX_QUANTUM * AUS_CHANNELS];

	/* Shared. */
	_Atomic uint32_t want_quantum;
	_Atomic float volume;
	_Atomic bool muted, stop;
	_Atomic uint64_t frames, xruns, cycles;
	_Atomic uint32_t streams;
};

/* convert.c: a ring's frames (any format, 1..8 channels) to float stereo;
 * NaN becomes 0 and values beyond full scale are clamped (a client's bad
 * samples hurt only its own stream). */
void aus_to_stereo(const void *src, unsigned format, unsigned channels, size_t frames, float *dst);
/* The limiter over n samples, in place. */
void aus_limit(float *buf, size_t n);

/* sink.c: devices. aus_sink_open parses "null", "file:PATH", "alsa:DEV"
 * (optionally "NAME=" before it) and opens the device; the thread's
 * device calls are in aus_sink_wait / aus_sink_write. */
int aus_sink_open(const char *spec, uint32_t rate, uint32_t quantum,
		  struct aus_sink **out);
void aus_sink_free(struct aus_sink *k);
/* Block until the next cycle is due; returns the cycles missed (xruns). */
uint64_t aus_sink_wait(struct aus_sink *k);
/* Write frames of k->mix to the device. */
void aus_sink_write(struct aus_sink *k, const float *mix, uint32_t frames);
/* Frames the device holds beyond what was written (ALSA's delay). */
uint32_t aus_sink_device_delay(struct aus_sink *k);
const char *aus_sink_kind_name(enum aus_sink_kind kind);

/* mixer.c */
int aus_sink_start(struct aus_sink *k); /* the thread, real-time where allowed */
void aus_sink_stop(struct aus_sink *k);
/* One cycle (the thread's body; tests call it on a sink without a thread). */
void aus_sink_cycle(struct aus_sink *k);
/* Prepare a stream's conversion (loop side, may allocate). */
int aus_stream_prepare(struct aus_stream *s, uint32_t sink_rate, unsigned quality);
void aus_stream_release(struct aus_stream *s);

/* AudioServer.c: the service's options, hooks and handlers. */
extern const audio_server_handlers aus_handlers;
extern const hv_option aus_options[];
int aus_setup(hv_server *srv);
int aus_ready(hv_server *srv);
void aus_teardown(int exit_code);
void aus_conn_fini(hv_conn *c, void *state);
struct aus_conn {
	void *recording; /* SNDFILE being written by a sink for this client */
	struct aus_sink *recording_sink;
};
