/* mixer.c — the mixing thread of a sink: each cycle it takes the commands
 * the event loop queued, pulls one quantum from every active stream's ring
 * (converting and resampling it), sums them in float with each stream's
 * volume, applies the sink's volume and the limiter, and writes the device.
 *
 * The path never allocates, locks or calls IPC: rings are read through
 * atomics, the scratch buffers are the sink's and the stream's own
 * (allocated by the loop before the stream is handed over), and events
 * leave as bits in the stream plus one eventfd write per cycle at most.
 * (libsoxr's process call works in the buffers soxr_create made.) */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <haven/log.h>

#include "AudioServer.h"

bool aus_cmdq_push(struct aus_cmdq *q, struct aus_cmd c)
{
	uint32_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_acquire);
	if (h - t >= AUS_CMDQ_SIZE)
		return false;
	q->slot[h % AUS_CMDQ_SIZE] = c;
	atomic_store_explicit(&q->head, h + 1, memory_order_release);
	return true;
}

bool aus_cmdq_pop(struct aus_cmdq *q, struct aus_cmd *out)
{
	uint32_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
	if (t == h)
		return false;
	*out = q->slot[t % AUS_CMDQ_SIZE];
	atomic_store_explicit(&q->tail, t + 1, memory_order_release);
	return true;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* libsoxr builds its filters and buffers on the first process call, which
 * takes milliseconds: do it here, on the loop, with zeros. n input frames
 * (a whole number of both rates' common period) make exactly n * out / in
 * output frames, of which soxr gave `done` now; the mixing thread skips the
 * rest (zeros), so the stream's first frame comes out first, as without
 * priming, with the same phase. */
static int prime(struct aus_stream *s, uint32_t sink_rate)
{
	uint32_t g = gcd(s->rate, sink_rate), n = s->rate / g, out = sink_rate / g;
	float sink[AUS_CHUNK * AUS_CHANNELS];
	size_t done = 0;
	for (uint32_t fed = 0; fed < n || done == 0;) {
		size_t in = n - fed > AUS_CHUNK ? AUS_CHUNK : n - fed, idone = 0, odone = 0;
		soxr_error_t err = soxr_process(s->soxr, s->chunk, in, &idone, sink, AUS_CHUNK, &odone);
		if (err)
			return hv_log_error("soxr: %s", err), -EIO;
		fed += (uint32_t)idone;
		done += odone;
		if (fed >= n)
			break;
	}
	s->skip = (uint64_t)out - done;
	return 0;
}

int aus_stream_prepare(struct aus_stream *s, uint32_t sink_rate, unsigned quality)
{
	s->chunk = calloc((size_t)AUS_CHUNK * AUS_CHANNELS, sizeof(float));
	if (!s->chunk)
		return -ENOMEM;
	if (s->rate == sink_rate)
		return 0;
	soxr_error_t err = NULL;
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_quality_spec_t q = soxr_quality_spec(quality, 0);
	s->soxr = soxr_create(s->rate, sink_rate, AUS_CHANNELS, &err, &io, &q, NULL);
	if (!s->soxr) {
		hv_log_error("soxr_create %u -> %u Hz: %s", s->rate, sink_rate, err ? err : "?");
		return -ENOMEM;
	}
	return prime(s, sink_rate);
}

void aus_stream_release(struct aus_stream *s)
{
	if (s->soxr)
		soxr_delete(s->soxr);
	s->soxr = NULL;
	free(s->chunk);
	s->chunk = NULL;
}

static void set_state(struct aus_stream *s, uint32_t state, bool *notify)
{
	if (atomic_load_explicit(&s->state, memory_order_relaxed) == state)
		return;
	atomic_store(&s->state, state);
	atomic_store_explicit(&s->hdr->state, state, memory_order_relaxed);
	atomic_fetch_or(&s->events, AUS_EV_STATE);
	*notify = true;
}

/* Up to `want` of the stream's frames from the ring, as float stereo, into
 * out; advances s->rpos; returns how many. */
static size_t take(struct aus_stream *s, uint64_t avail, size_t want, float *out)
{
	size_t n = avail < want ? (size_t)avail : want, done = 0;
	while (done < n) {
		size_t slot = (size_t)((s->rpos + done) % s->capacity);
		size_t run = s->capacity - slot;
		if (run > n - done)
			run = n - done;
		aus_to_stereo(s->data + slot * s->frame_bytes, s->format, s->channels, run,
			      out + done * AUS_CHANNELS);
		done += run;
	}
	s->rpos += n;
	return n;
}

/* Drop what is left of the priming's output from the n frames at out. */
static size_t skip(struct aus_stream *s, float *out, size_t n)
{
	if (!s->skip)
		return n;
	size_t k = s->skip < n ? (size_t)s->skip : n;
	memmove(out, out + k * AUS_CHANNELS, (n - k) * AUS_CHANNELS * sizeof(float));
	s->skip -= k;
	return n - k;
}

/* q frames at the sink's rate into out; returns how many it had. After
 * the client's end of stream (eos) and its last frame, the resampler gives
 * out what it still holds, and s->flushed says when it is empty. */
static size_t pull(struct aus_stream *s, uint64_t avail, size_t q, float *out, bool eos)
{
	if (!s->soxr) {
		size_t n = take(s, avail, q, out);
		s->flushed = eos && n == avail;
		return n;
	}
	size_t produced = 0;
	/* Once soxr was told the input ended it must get no more (libsoxr
	 * crashes on input after a flush): a client that clears its end of
	 * stream flag and writes again is not heard, its stream drains. */
	if (s->draining)
		eos = true, avail = 0;
	while (produced < q && !s->flushed) {
		size_t odone = 0, idone = 0;
		if (eos && !avail) {
			s->draining = true;
			soxr_process(s->soxr, NULL, 0, NULL, out + produced * AUS_CHANNELS,
				     q - produced, &odone);
			s->flushed = odone == 0;
			produced += skip(s, out + produced * AUS_CHANNELS, odone);
			if (!odone)
				break;
			continue;
		}
		size_t in = avail < AUS_CHUNK ? (size_t)avail : AUS_CHUNK;
		uint64_t at = s->rpos;
		take(s, in, in, s->chunk);
		/* in == 0: soxr gives out what it holds (the stream starved). */
		soxr_process(s->soxr, s->chunk, in, &idone, out + produced * AUS_CHANNELS,
			     q - produced, &odone);
		/* Frames soxr did not take stay in the ring for the next call. */
		s->rpos = at + idone;
		avail -= idone;
		odone = skip(s, out + produced * AUS_CHANNELS, odone);
		produced += odone;
		if (odone == 0 && (in == 0 || idone == 0))
			break;
	}
	return produced;
}

static void mix_stream(struct aus_sink *k, struct aus_stream *s, uint32_t q, bool *notify)
{
	struct aud_ring_header *h = s->hdr;
	uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (state == AUDIO_SERVER_STREAM_STATE_FAILED || state == AUDIO_SERVER_STREAM_STATE_DRAINED)
		return;
	if (atomic_load_explicit(&s->paused, memory_order_relaxed)) {
		set_state(s, AUDIO_SERVER_STREAM_STATE_PAUSED, notify);
		return;
	}
	uint64_t w = atomic_load_explicit(&h->write_pos, memory_order_acquire);
	uint64_t avail = w - s->rpos;
	if (avail > s->capacity) { /* indices no honest producer writes */
		set_state(s, AUDIO_SERVER_STREAM_STATE_FAILED, notify);
		return;
	}
	bool eos = atomic_load_explicit(&h->eos, memory_order_acquire);
	if (!s->started) {
		/* A quantum's worth first, so playback starts without a gap. */
		uint64_t need = (uint64_t)q * s->rate / k->rate + 1;
		if (need > s->capacity)
			need = s->capacity;
		if (avail < need && !eos) {
			if (state == AUDIO_SERVER_STREAM_STATE_PAUSED)
				set_state(s, AUDIO_SERVER_STREAM_STATE_PREBUFFERING, notify);
			return;
		}
		s->started = true;
		atomic_store_explicit(&h->start_pos, atomic_load(&k->frames), memory_order_relaxed);
	}
	size_t got = pull(s, avail, q, k->tmp, eos);
	if (got < q) {
		memset(k->tmp + got * AUS_CHANNELS, 0, (q - got) * AUS_CHANNELS * sizeof(float));
		if (s->flushed) {
			set_state(s, AUDIO_SERVER_STREAM_STATE_DRAINED, notify);
		} else {
			atomic_fetch_add(&s->underruns, 1);
			atomic_store_explicit(&h->underruns, atomic_load(&s->underruns), memory_order_relaxed);
			atomic_store(&h->want_data, 1);
			atomic_fetch_or(&s->events, AUS_EV_UNDERRUN);
			set_state(s, AUDIO_SERVER_STREAM_STATE_UNDERRUN, notify);
			*notify = true;
		}
	} else {
		set_state(s, AUDIO_SERVER_STREAM_STATE_PLAYING, notify);
	}
	/* Sequentially consistent, as the client's store of want_space and
	 * load of read_pos: one of the two sides sees the other. */
	atomic_store(&h->read_pos, s->rpos);
	/* Wake the client only when there is the room it waits for: one
	 * wake-up per write it makes, not one per cycle. */
	uint64_t room = s->capacity - (w - s->rpos);
	if (atomic_load(&h->want_space) &&
	    (room >= atomic_load_explicit(&h->space_wanted, memory_order_relaxed) || s->flushed) &&
	    atomic_exchange(&h->want_space, 0)) {
		uint64_t one = 1;
		(void)!write(s->space_fd, &one, sizeof one);
	}
	atomic_fetch_add_explicit(&s->played, got, memory_order_relaxed);
	if (atomic_load_explicit(&s->muted, memory_order_relaxed) || !got)
		return;
	float vol = atomic_load_explicit(&s->volume, memory_order_relaxed);
	for (size_t i = 0; i < (size_t)q * AUS_CHANNELS; i++)
		k->mix[i] += k->tmp[i] * vol;
}

static void apply_commands(struct aus_sink *k, bool *notify)
{
	struct aus_cmd c;
	while (aus_cmdq_pop(&k->cmds, &c)) {
		switch (c.op) {
		case AUS_CMD_ADD:
			if (k->n_active < AUS_MAX_STREAMS)
				k->active[k->n_active++] = c.ptr;
			break;
		case AUS_CMD_REMOVE:
			for (unsigned i = 0; i < k->n_active; i++)
				if (k->active[i] == c.ptr) {
					k->active[i] = k->active[--k->n_active];
					break;
				}
			break;
		case AUS_CMD_RECORD:
			k->recording = c.ptr;
			break;
		case AUS_CMD_UNRECORD:
			if (k->recording == c.ptr)
				k->recording = NULL;
			break;
		}
		/* The loop frees or moves on only after this: the ack queue is
		 * as large as the command queue, so it never overflows. */
		aus_cmdq_push(&k->acks, c);
		*notify = true;
	}
	atomic_store_explicit(&k->streams, k->n_active, memory_order_relaxed);
}

void aus_sink_cycle(struct aus_sink *k)
{
	bool notify = false;
	apply_commands(k, &notify);
	uint32_t q = k->quantum;
	uint64_t clock = atomic_load_explicit(&k->frames, memory_order_relaxed);
	memset(k->mix, 0, (size_t)q * AUS_CHANNELS * sizeof(float));
	for (unsigned i = 0; i < k->n_active; i++) {
		atomic_store_explicit(&k->active[i]->hdr->clock, clock, memory_order_relaxed);
		atomic_store_explicit(&k->active[i]->hdr->quantum, q, memory_order_relaxed);
		mix_stream(k, k->active[i], q, &notify);
	}
	float vol = atomic_load_explicit(&k->muted, memory_order_relaxed)
			    ? 0.0f
			    : atomic_load_explicit(&k->volume, memory_order_relaxed);
	if (vol != 1.0f)
		for (size_t i = 0; i < (size_t)q * AUS_CHANNELS; i++)
			k->mix[i] *= vol;
	aus_limit(k->mix, (size_t)q * AUS_CHANNELS);
	aus_sink_write(k, k->mix, q);
	atomic_store_explicit(&k->frames, clock + q, memory_order_relaxed);
	atomic_fetch_add_explicit(&k->cycles, 1, memory_order_relaxed);
	if (notify) {
		uint64_t one = 1;
		(void)!write(k->notify_fd, &one, sizeof one);
	}
}

static void *sink_thread(void *arg)
{
	struct aus_sink *k = arg;
	/* prctl, not pthread_setname_np from outside: that opens /proc. */
	char name[16];
	snprintf(name, sizeof name, "mix-%.11s", k->name);
	prctl(PR_SET_NAME, name);
	while (!atomic_load_explicit(&k->stop, memory_order_acquire)) {
		uint64_t missed = aus_sink_wait(k);
		if (missed)
			atomic_fetch_add_explicit(&k->xruns, missed, memory_order_relaxed);
		aus_sink_cycle(k);
	}
	return NULL;
}

int aus_sink_start(struct aus_sink *k)
{
	int r = pthread_create(&k->thread, NULL, sink_thread, k);
	if (r)
		return -r;
	k->running = true;
	/* Real-time where the user may (RLIMIT_RTPRIO, CAP_SYS_NICE); else the
	 * thread mixes at normal priority and says so once. */
	struct sched_param sp = {.sched_priority = 20};
	int e = pthread_setschedparam(k->thread, SCHED_FIFO, &sp);
	if (e)
		hv_log_info("sink %s: mixing without real-time priority (SCHED_FIFO: %s)", k->name,
			    strerror(e));
	else
		hv_log_info("sink %s: mixing thread at SCHED_FIFO %d", k->name, sp.sched_priority);
	return 0;
}

void aus_sink_stop(struct aus_sink *k)
{
	if (!k->running)
		return;
	atomic_store_explicit(&k->stop, true, memory_order_release);
	pthread_join(k->thread, NULL);
	k->running = false;
}
