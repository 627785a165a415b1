/* sink.c — the devices a sink writes to, and the clock that paces it.
 *
 *   null        paced by a CLOCK_MONOTONIC timerfd, one tick per quantum;
 *               the samples go nowhere (measurements, tests)
 *   file:PATH   paced the same way; 32-bit float WAV through libsndfile,
 *               the header's sizes updated as it grows (a reader may open
 *               it while it plays) and final when the server exits
 *   alsa:DEV    paced by the device: snd_pcm_writei blocks until there is
 *               room (period = the quantum, buffer = 3 periods); a device
 *               that never blocks (ALSA's null plugin) by the timerfd
 *
 * A spec may name its sink: "music=alsa:hw:0", "rec=file:/tmp/out.wav";
 * otherwise the name is the kind ("null", "file", "alsa"), with the sink's
 * index appended when a kind repeats (AudioServer.c). Devices are opened before the
 * sandbox is entered, so the service keeps no path to any file. */
#include <alsa/asoundlib.h>
#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <haven/log.h>

#include "AudioServer.h"

struct aus_sink_dev {
	int timer_fd;
	uint32_t armed_quantum;
	SNDFILE *sf;
	snd_pcm_t *pcm;
};

const char *aus_sink_kind_name(enum aus_sink_kind kind)
{
	return kind == AUS_SINK_FILE ? "file" : kind == AUS_SINK_ALSA ? "alsa" : "null";
}

static int arm(struct aus_sink *k, uint32_t q)
{
	uint64_t ns = (uint64_t)q * 1000000000ull / k->rate;
	struct itimerspec its = {
		.it_interval = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)},
		.it_value = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)},
	};
	if (timerfd_settime(k->dev->timer_fd, 0, &its, NULL) < 0)
		return -errno;
	k->dev->armed_quantum = q;
	return 0;
}

static int open_alsa(struct aus_sink *k, uint32_t quantum)
{
	int r = snd_pcm_open(&k->dev->pcm, k->device, SND_PCM_STREAM_PLAYBACK, 0);
	if (r < 0)
		return hv_log_error("sink %s: cannot open ALSA device %s: %s", k->name, k->device,
				    snd_strerror(r)), -ENODEV;
	/* 3 periods of one quantum: latency ~ 2 quanta, room for one late wake-up. */
	r = snd_pcm_set_params(k->dev->pcm, SND_PCM_FORMAT_FLOAT, SND_PCM_ACCESS_RW_INTERLEAVED,
			       AUS_CHANNELS, k->rate, 1,
			       (unsigned)((uint64_t)quantum * 3 * 1000000 / k->rate));
	if (r < 0)
		return hv_log_error("sink %s: ALSA device %s refuses float stereo at %u Hz: %s",
				    k->name, k->device, k->rate, snd_strerror(r)), -EINVAL;
	/* ALSA's null plugin takes any write at once: the clock paces it, as
	 * the null sink (otherwise the thread would mix flat out). */
	if (snd_pcm_type(k->dev->pcm) == SND_PCM_TYPE_NULL &&
	    (k->dev->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0)
		return -errno;
	return 0;
}

static int open_device(struct aus_sink *k, uint32_t quantum)
{
	if (k->kind == AUS_SINK_ALSA)
		return open_alsa(k, quantum);
	k->dev->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (k->dev->timer_fd < 0)
		return -errno;
	if (k->kind == AUS_SINK_FILE) {
		SF_INFO info = {.samplerate = (int)k->rate, .channels = AUS_CHANNELS,
				.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
		k->dev->sf = sf_open(k->device, SFM_WRITE, &info);
		if (!k->dev->sf)
			return hv_log_error("sink %s: cannot write %s: %s", k->name, k->device,
					    sf_strerror(NULL)), -EIO;
		sf_command(k->dev->sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	}
	return 0; /* armed by the thread's first wait */
}

/* "NAME=KIND[:ARG]" -> name, kind, device. */
static int parse_spec(const char *spec, struct aus_sink *k)
{
	const char *eq = strchr(spec, '='), *colon = strchr(spec, ':');
	const char *kind = spec;
	if (eq && (!colon || eq < colon)) {
		if (eq == spec || eq - spec > 32)
			return -EINVAL;
		k->name = strndup(spec, (size_t)(eq - spec));
		kind = eq + 1;
		colon = strchr(kind, ':');
	}
	size_t klen = colon ? (size_t)(colon - kind) : strlen(kind);
	if (klen == 4 && !strncmp(kind, "null", 4) && !colon)
		k->kind = AUS_SINK_NULL;
	else if (klen == 4 && !strncmp(kind, "file", 4) && colon && colon[1])
		k->kind = AUS_SINK_FILE;
	else if (klen == 4 && !strncmp(kind, "alsa", 4))
		k->kind = AUS_SINK_ALSA;
	else
		return -EINVAL;
	k->device = strdup(colon && colon[1] ? colon + 1 : k->kind == AUS_SINK_ALSA ? "default" : "");
	if (!k->name)
		k->name = strdup(aus_sink_kind_name(k->kind));
	return k->name && k->device ? 0 : -ENOMEM;
}

int aus_sink_open(const char *spec, uint32_t rate, uint32_t quantum,
		  struct aus_sink **out)
{
	struct aus_sink *k = calloc(1, sizeof *k);
	if (!k)
		return -ENOMEM;
	k->dev = calloc(1, sizeof *k->dev);
	k->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!k->dev || k->notify_fd < 0) {
		aus_sink_free(k);
		return -ENOMEM;
	}
	k->dev->timer_fd = -1;
	k->rate = rate;
	k->quantum = quantum;
	atomic_init(&k->want_quantum, quantum);
	atomic_init(&k->volume, 1.0f);
	int r = parse_spec(spec, k);
	if (r == -EINVAL)
		hv_log_error("--sink %s: not null, file:PATH or alsa[:DEVICE] (optionally NAME= first)",
			     spec);
	if (r >= 0)
		r = open_device(k, quantum);
	if (r < 0) {
		aus_sink_free(k);
		return r;
	}
	*out = k;
	return 0;
}

void aus_sink_free(struct aus_sink *k)
{
	if (!k)
		return;
	aus_sink_stop(k);
	if (k->dev) {
		if (k->dev->sf)
			sf_close(k->dev->sf); /* writes the final sizes */
		if (k->dev->pcm) {
			snd_pcm_drain(k->dev->pcm);
			snd_pcm_close(k->dev->pcm);
		}
		if (k->dev->timer_fd >= 0)
			close(k->dev->timer_fd);
		free(k->dev);
	}
	if (k->notify_fd >= 0)
		close(k->notify_fd);
	free(k->name);
	free(k->device);
	free(k);
}

uint64_t aus_sink_wait(struct aus_sink *k)
{
	uint32_t want = atomic_load_explicit(&k->want_quantum, memory_order_relaxed);
	if (want != k->quantum)
		k->quantum = want;
	if (k->dev->timer_fd >= 0 && k->dev->armed_quantum != k->quantum)
		arm(k, k->quantum);
	if (k->dev->timer_fd < 0)
		return 0; /* ALSA: the write blocks */
	uint64_t ticks = 0;
	if (read(k->dev->timer_fd, &ticks, sizeof ticks) != sizeof ticks)
		return 0;
	return ticks > 1 ? ticks - 1 : 0;
}

void aus_sink_write(struct aus_sink *k, const float *mix, uint32_t frames)
{
	if (k->dev->sf)
		sf_writef_float(k->dev->sf, mix, frames);
	if (k->recording)
		sf_writef_float(k->recording, mix, frames);
	if (!k->dev->pcm)
		return;
	while (frames) {
		snd_pcm_sframes_t n = snd_pcm_writei(k->dev->pcm, mix, frames);
		if (n < 0) {
			if (n == -EPIPE)
				atomic_fetch_add_explicit(&k->xruns, 1, memory_order_relaxed);
			if (snd_pcm_recover(k->dev->pcm, (int)n, 1) < 0)
				return;
			continue;
		}
		mix += (size_t)n * AUS_CHANNELS;
		frames -= (uint32_t)n;
	}
}

uint32_t aus_sink_device_delay(struct aus_sink *k)
{
	snd_pcm_sframes_t d = 0;
	if (k->dev->pcm && snd_pcm_delay(k->dev->pcm, &d) == 0 && d > 0)
		return (uint32_t)d;
	return 0;
}
