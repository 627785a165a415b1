/* test-audioserver — AudioServer in a real process (handed its socket as
 * SystemServer would) with file sinks, and real clients (forked processes
 * on the client library): mixes of 2 and 16 clients at 44.1/48 kHz in
 * three formats against a reference mix computed here with the same
 * libsoxr; volume changes mid-stream; the limiter; an impulse's latency on
 * the sink's clock; one client's underruns leave another's samples
 * bit-exact; a client killed mid-stream; garbage in a ring; typed errors
 * for bad parameters; 16 clients at quantum 256 with the other CPU busy
 * and no xrun.
 *
 * Each scenario plays into a sink of its own (file sinks in the temp dir,
 * all paced by the server's clock), so one server serves the whole test. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audio-client.h"
#include "check.h"
#include "service.h"

#define RATE 48000
#define Q 256
#define TIMEOUT_MS 10000

static svc_fixture fx;
static char paths[16][256];

static const char *sink_names[] = {"mix2",  "mix16",  "vol",	 "limit",   "lat",
				   "solo",  "under",  "kill",	 "garbage", "movea",
				   "moveb", "xrun",   "decwav", "decflac", "decmp3", NULL};

static const char *sink_path(const char *name)
{
	for (int i = 0; sink_names[i]; i++)
		if (!strcmp(sink_names[i], name))
			return paths[i];
	abort();
}

/* --- the signals clients play ------------------------------------------ */

struct voice {
	uint32_t rate;
	uint16_t channels;
	uint8_t format;
	float amp, freq;
	size_t frames;
};

/* Client k of n in the mixed scenarios: even ones at 48 kHz, odd ones at
 * 44.1 kHz, the three formats in turn, mono and stereo in turn. */
static struct voice voice_of(int k, int n, double seconds)
{
	struct voice v = {.rate = k % 2 ? 44100 : 48000, .channels = (uint16_t)(k % 2 + 1),
			  .format = (uint8_t)(k % 3), .amp = 0.6f / (float)n,
			  .freq = 220.0f + 110.0f * (float)k};
	v.frames = (size_t)(seconds * v.rate);
	return v;
}

/* The signal: a sine, faded in over its first 64 frames (a step at the
 * start would ring differently in a one-shot resampler and a streaming
 * one, over its first frames). */
static float raw(const struct voice *v, size_t i, int c)
{
	double t = (double)i / v->rate;
	float x = v->amp * (float)sin(2 * M_PI * v->freq * t + c * 0.5);
	return i < 64 ? x * (float)i / 64.0f : x;
}

/* What the server reads for sample (frame i, channel c): the value the
 * client writes, after its format's quantisation. */
static float value(const struct voice *v, size_t i, int c)
{
	float x = raw(v, i, c);
	if (v->format == AUDIO_SERVER_SAMPLE_FORMAT_S16)
		return (float)(int16_t)lrintf(x * 32767.0f) * (1.0f / 32768.0f);
	if (v->format == AUDIO_SERVER_SAMPLE_FORMAT_S32)
		return (float)((double)(int32_t)lrint((double)x * 2147483647.0) * (1.0 / 2147483648.0));
	return x;
}

static void encode(const struct voice *v, size_t i, void *out)
{
	for (int c = 0; c < v->channels; c++) {
		float x = raw(v, i, c);
		if (v->format == AUDIO_SERVER_SAMPLE_FORMAT_S16)
			((int16_t *)out)[c] = (int16_t)lrintf(x * 32767.0f);
		else if (v->format == AUDIO_SERVER_SAMPLE_FORMAT_S32)
			((int32_t *)out)[c] = (int32_t)lrint((double)x * 2147483647.0);
		else
			((float *)out)[c] = x;
	}
}

static size_t sample_bytes(uint8_t format) { return format == AUDIO_SERVER_SAMPLE_FORMAT_S16 ? 2 : 4; }

/* --- clients ------------------------------------------------------------ */

static hv_conn *connect_client(void)
{
	hv_conn *c = svc_connect(&fx);
	REQUIRE_EQ(aud_on_events(c, NULL), 0);
	return c;
}

static aud_stream *open_voice(hv_conn *c, const struct voice *v, const char *sink, uint32_t buffer)
{
	struct aud_params p = {.rate = v->rate, .channels = v->channels, .format = v->format,
			       .buffer_frames = buffer, .name = "test", .sink = sink};
	aud_stream *s = NULL;
	int r = aud_stream_open(c, &p, &s);
	if (r < 0)
		fprintf(stderr, "open_stream: %s\n", hv_conn_strerror(c, r));
	REQUIRE_EQ(r, 0);
	return s;
}

/* Play v from frame `from` to `to` (blocking). */
static void play_range(aud_stream *s, const struct voice *v, size_t from, size_t to)
{
	size_t fb = v->channels * sample_bytes(v->format);
	uint8_t buf[1024 * 16];
	for (size_t i = from; i < to;) {
		size_t n = to - i < 1024 ? to - i : 1024;
		for (size_t j = 0; j < n; j++)
			encode(v, i + j, buf + j * fb);
		REQUIRE_EQ(aud_stream_write_all(s, buf, n, TIMEOUT_MS), 0);
		i += n;
	}
}

/* Report k and where the stream started on the sink's clock. */
static void report(int fd, int k, aud_stream *s)
{
	uint64_t start = atomic_load(&aud_stream_header(s)->start_pos);
	REQUIRE(start != AUD_RING_NO_POSITION);
	uint64_t v = (uint64_t)k << 48 | start;
	REQUIRE_EQ(write(fd, &v, sizeof v), (ssize_t)sizeof v);
}

struct mix_job {
	const char *sink;
	int n;
	double seconds;
};

static void mix_client(int k, int fd, void *ud)
{
	const struct mix_job *job = ud;
	struct voice v = voice_of(k, job->n, job->seconds);
	hv_conn *c = connect_client();
	aud_stream *s = open_voice(c, &v, job->sink, 0);
	play_range(s, &v, 0, v.frames);
	REQUIRE_EQ(aud_stream_drain(s, TIMEOUT_MS), 0);
	report(fd, k, s);
	REQUIRE_EQ(aud_stream_close(s), 0);
	hv_conn_close(c);
}

/* --- the reference ------------------------------------------------------ */

/* v as float stereo at RATE, resampled by libsoxr as the server does. */
static float *reference_voice(const struct voice *v, size_t *out_frames)
{
	float *in = calloc(v->frames * 2, sizeof *in);
	REQUIRE(in);
	for (size_t i = 0; i < v->frames; i++) {
		in[2 * i] = value(v, i, 0);
		in[2 * i + 1] = value(v, i, v->channels == 2 ? 1 : 0);
	}
	if (v->rate == RATE) {
		*out_frames = v->frames;
		return in;
	}
	size_t olen = (size_t)((double)v->frames * RATE / v->rate) + 16, odone = 0;
	float *out = calloc(olen * 2, sizeof *out);
	REQUIRE(out);
	soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
	soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
	REQUIRE(!soxr_oneshot(v->rate, RATE, 2, in, v->frames, NULL, out, olen, &odone, &io, &q, NULL));
	free(in);
	*out_frames = odone;
	return out;
}

static float *read_sink(const char *name, size_t *frames)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(sink_path(name), SFM_READ, &info);
	REQUIRE(sf);
	REQUIRE_EQ(info.channels, 2);
	REQUIRE_EQ(info.samplerate, RATE);
	float *buf = calloc((size_t)info.frames * 2 + 2, sizeof *buf);
	REQUIRE(buf);
	*frames = (size_t)sf_readf_float(sf, buf, info.frames);
	sf_close(sf);
	return buf;
}

/* Add v at start, with gain, into ref (of ref_frames). Returns the frame
 * after its end. */
static size_t add_voice(float *ref, size_t ref_frames, const struct voice *v, uint64_t start,
			float gain)
{
	size_t n;
	float *x = reference_voice(v, &n);
	for (size_t i = 0; i < n && start + i < ref_frames; i++) {
		ref[2 * (start + i)] += x[2 * i] * gain;
		ref[2 * (start + i) + 1] += x[2 * i + 1] * gain;
	}
	free(x);
	return (size_t)start + n;
}

/* Largest |out - ref| over frames [from, to). */
static double max_error(const float *out, const float *ref, size_t from, size_t to)
{
	double e = 0;
	for (size_t i = 2 * from; i < 2 * to; i++)
		if (fabs((double)out[i] - ref[i]) > e)
			e = fabs((double)out[i] - ref[i]);
	return e;
}

/* Resampled voices differ from the one-shot reference by the filter's
 * rounding (measured: below 1e-5); 1e-4 is ~ -80 dBFS. */
#define TOLERANCE 1e-4

static void test_mix(const char *sink, int n, double seconds)
{
	struct mix_job job = {.sink = sink, .n = n, .seconds = seconds};
	uint64_t starts[64];
	size_t got = svc_run_clients(n, mix_client, &job, starts, 64);
	REQUIRE_EQ(got, (size_t)n);
	size_t frames;
	float *out = read_sink(sink, &frames);
	float *ref = calloc(frames * 2, sizeof *ref);
	REQUIRE(ref);
	uint64_t first = UINT64_MAX;
	size_t last = 0;
	for (size_t i = 0; i < got; i++) {
		int k = (int)(starts[i] >> 48);
		uint64_t start = starts[i] & ((1ull << 48) - 1);
		struct voice v = voice_of(k, n, seconds);
		size_t end = add_voice(ref, frames, &v, start, 1.0f);
		first = start < first ? start : first;
		last = end > last ? end : last;
	}
	REQUIRE(last <= frames);
	double e = max_error(out, ref, 0, frames);
	if (getenv("AUDIO_DEBUG"))
		for (size_t i = 0; i < frames; i++)
			if (fabs(out[2 * i] - ref[2 * i]) > TOLERANCE || fabs(out[2 * i + 1] - ref[2 * i + 1]) > TOLERANCE)
				fprintf(stderr, "%zu: out %g %g ref %g %g\n", i, out[2 * i], out[2 * i + 1], ref[2 * i], ref[2 * i + 1]);
	if (getenv("AUDIO_DEBUG"))
		fprintf(stderr, "%s: largest error %g\n", sink, e);
	CHECK_MSG(e < TOLERANCE, "%s: %d clients: the mix differs from the reference by %g", sink, n, e);
	/* And the signal is there: a mix of silence would not do. */
	double peak = 0;
	for (size_t i = 2 * first; i < 2 * last; i++)
		peak = fmax(peak, fabs(out[i]));
	CHECK_MSG(peak > 0.2, "%s: peak %g", sink, peak);
	free(out);
	free(ref);
}

/* --- volume, mid-stream ------------------------------------------------- */

static void test_volume(void)
{
	hv_conn *c = connect_client();
	REQUIRE_EQ(audio_server_set_sink_volume(c, "vol", 0.5f), 0);
	struct voice v = {.rate = RATE, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_F32,
			  .amp = 0.5f, .freq = 440, .frames = RATE};
	aud_stream *s = open_voice(c, &v, "vol", 4096);
	size_t half = v.frames / 2;
	play_range(s, &v, 0, half);
	REQUIRE_EQ(audio_server_set_volume(c, aud_stream_id(s), 0.25f), 0);
	play_range(s, &v, half, v.frames);
	REQUIRE_EQ(aud_stream_drain(s, TIMEOUT_MS), 0);
	uint64_t start = atomic_load(&aud_stream_header(s)->start_pos);
	REQUIRE_EQ(aud_stream_close(s), 0);
	hv_conn_close(c);
	size_t frames;
	float *out = read_sink("vol", &frames);
	REQUIRE(start + v.frames <= frames);
	float *ref = calloc(frames * 2, sizeof *ref), *ref2 = calloc(frames * 2, sizeof *ref);
	REQUIRE(ref && ref2);
	add_voice(ref, frames, &v, start, 0.5f);
	add_voice(ref2, frames, &v, start, 0.5f * 0.25f);
	/* Before the change: what was queued when it came (4096) is played at
	 * either gain; after it, all at the new one. */
	double before = max_error(out, ref, start, start + half - 4096 - Q);
	double after = max_error(out, ref2, start + half + Q, start + v.frames);
	CHECK_MSG(before < 1e-6, "volume: before the change, off by %g", before);
	CHECK_MSG(after < 1e-6, "volume: after the change to 0.25, off by %g", after);
	free(out);
	free(ref);
	free(ref2);
}

/* --- the limiter -------------------------------------------------------- */

static float limit(float x)
{
	const float k = 0.75f, room = 0.25f;
	float a = fabsf(x);
	if (a <= k)
		return x;
	float y = k + room * tanhf((a - k) / room);
	return x < 0 ? -y : y;
}

static void test_limiter(void)
{
	hv_conn *c = connect_client();
	struct voice v = {.rate = RATE, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_F32,
			  .amp = 0.9f, .freq = 187.5f, .frames = RATE / 4};
	/* 187.5 Hz: a period is one quantum, and streams start on quanta, so
	 * the two sum in phase whatever cycle each starts on. */
	aud_stream *a = open_voice(c, &v, "limit", v.frames), *b = open_voice(c, &v, "limit", v.frames);
	/* Both rings hold everything: written before either starts. */
	play_range(a, &v, 0, v.frames);
	play_range(b, &v, 0, v.frames);
	REQUIRE_EQ(aud_stream_drain(a, TIMEOUT_MS), 0);
	REQUIRE_EQ(aud_stream_drain(b, TIMEOUT_MS), 0);
	uint64_t sa = atomic_load(&aud_stream_header(a)->start_pos);
	uint64_t sb = atomic_load(&aud_stream_header(b)->start_pos);
	if (getenv("AUDIO_DEBUG"))
		fprintf(stderr, "limiter: starts %llu %llu\n", (unsigned long long)sa, (unsigned long long)sb);
	aud_stream_close(a);
	aud_stream_close(b);
	hv_conn_close(c);
	size_t frames;
	float *out = read_sink("limit", &frames);
	float *ref = calloc(frames * 2, sizeof *ref);
	REQUIRE(ref);
	add_voice(ref, frames, &v, sa, 1);
	add_voice(ref, frames, &v, sb, 1);
	double sum_peak = 0, peak = 0, e = 0;
	for (size_t i = 0; i < frames * 2; i++) {
		sum_peak = fmax(sum_peak, fabs(ref[i]));
		peak = fmax(peak, fabs(out[i]));
		e = fmax(e, fabs(out[i] - limit(ref[i])));
	}
	CHECK_MSG(sum_peak > 1.5, "limiter: the sum should go over full scale (%g)", sum_peak);
	CHECK_MSG(peak < 1.0 && peak > 0.9, "limiter: output peak %g", peak);
	CHECK_MSG(e < 1e-5, "limiter: off the documented curve by %g", e);
	free(out);
	free(ref);
}

/* --- latency ------------------------------------------------------------ */

static void test_latency(void)
{
	hv_conn *c = connect_client();
	struct voice v = {.rate = RATE, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_F32};
	aud_stream *s = open_voice(c, &v, "lat", 1024);
	static float zeros[4 * Q * 2], impulse[2] = {0.5f, 0.5f};
	uint64_t clocks[5];
	REQUIRE_EQ(aud_stream_write_all(s, zeros, 2 * Q, TIMEOUT_MS), 0);
	for (int i = 0; i < 5; i++) {
		/* An empty ring: the impulse waits for nothing but the cycle. */
		REQUIRE_EQ(aud_stream_wait_space(s, aud_stream_capacity(s), TIMEOUT_MS), 0);
		clocks[i] = atomic_load(&aud_stream_header(s)->clock);
		REQUIRE_EQ(aud_stream_write(s, impulse, 1), 1u);
		REQUIRE_EQ(aud_stream_write_all(s, zeros, 3 * Q, TIMEOUT_MS), 0);
	}
	REQUIRE_EQ(aud_stream_drain(s, TIMEOUT_MS), 0);
	uint32_t queued = 99, quantum = 0, device = 99;
	REQUIRE_EQ(audio_server_latency(c, aud_stream_id(s), &queued, &quantum, &device), 0);
	CHECK_EQ(quantum, (uint32_t)Q);
	CHECK_EQ(queued, 0u);
	CHECK_EQ(device, 0u);
	aud_stream_close(s);
	hv_conn_close(c);
	size_t frames, found = 0;
	float *out = read_sink("lat", &frames);
	for (size_t f = 0; f < frames && found < 5; f++) {
		if (out[2 * f] < 0.25f)
			continue;
		int64_t late = (int64_t)f - (int64_t)clocks[found];
		CHECK_MSG(late >= 0 && late <= 2 * Q, "impulse %zu: written at sink frame %llu, "
			  "played at %zu: %lld frames, over 2 quanta", found,
			  (unsigned long long)clocks[found], f, (long long)late);
		found++;
	}
	CHECK_EQ(found, 5u);
	free(out);
}

/* --- one client's underruns -------------------------------------------- */

static struct voice steady = {.rate = RATE, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_S16,
			      .amp = 0.4f, .freq = 523, .frames = RATE / 2};

static void steady_client(int k, int fd, void *ud)
{
	const char *sink = ud;
	hv_conn *c = connect_client();
	if (k == 0) {
		aud_stream *s = open_voice(c, &steady, sink, 0);
		play_range(s, &steady, 0, steady.frames);
		REQUIRE_EQ(aud_stream_drain(s, TIMEOUT_MS), 0);
		report(fd, k, s);
		aud_stream_close(s);
	} else {
		/* Zeros in bursts with gaps: underrun after underrun, at 44.1 kHz
		 * through the resampler. */
		struct voice z = {.rate = 44100, .channels = 1, .format = AUDIO_SERVER_SAMPLE_FORMAT_F32};
		aud_stream *s = open_voice(c, &z, sink, 0);
		static float zeros[512];
		for (int i = 0; i < 15; i++) {
			REQUIRE_EQ(aud_stream_write_all(s, zeros, 512, TIMEOUT_MS), 0);
			usleep(40000);
		}
		uint64_t underruns = atomic_load(&aud_stream_header(s)->underruns);
		REQUIRE_EQ(write(fd, &(uint64_t){(uint64_t)1 << 48 | underruns}, 8), 8);
		aud_stream_close(s);
	}
	hv_conn_close(c);
}

static void test_underrun_isolation(void)
{
	uint64_t solo[2], mixed[4];
	REQUIRE_EQ(svc_run_clients(1, steady_client, (void *)"solo", solo, 2), 1u);
	REQUIRE_EQ(svc_run_clients(2, steady_client, (void *)"under", mixed, 4), 2u);
	uint64_t start_solo = solo[0] & ((1ull << 48) - 1), start_mixed = 0, underruns = 0;
	for (int i = 0; i < 2; i++) {
		if (mixed[i] >> 48)
			underruns = mixed[i] & ((1ull << 48) - 1);
		else
			start_mixed = mixed[i] & ((1ull << 48) - 1);
	}
	CHECK_MSG(underruns >= 5, "the bursty client underran only %llu times",
		  (unsigned long long)underruns);
	size_t n1, n2;
	float *a = read_sink("solo", &n1), *b = read_sink("under", &n2);
	REQUIRE(start_solo + steady.frames <= n1 && start_mixed + steady.frames <= n2);
	size_t differ = 0;
	for (size_t i = 0; i < steady.frames * 2; i++)
		differ += memcmp(&a[2 * start_solo + i], &b[2 * start_mixed + i], sizeof(float)) != 0;
	CHECK_MSG(differ == 0, "%zu samples differ from the solo run", differ);
	free(a);
	free(b);
}

/* --- a client killed mid-stream ----------------------------------------- */

static bool stream_listed(hv_conn *c, uint32_t id, audio_server_stream_info *out)
{
	hv_vec_audio_server_sink_info sinks;
	hv_vec_audio_server_stream_info streams;
	REQUIRE_EQ(audio_server_list(c, &sinks, &streams), 0);
	for (size_t i = 0; i < streams.count; i++)
		if (streams.items[i].id == id) {
			if (out)
				*out = streams.items[i];
			return true;
		}
	return false;
}

static void test_killed_client(void)
{
	int p[2];
	REQUIRE_EQ(pipe(p), 0);
	pid_t victim = fork();
	REQUIRE(victim >= 0);
	if (victim == 0) {
		/* Zeros, so the survivor's output is exactly its own. */
		hv_conn *c = connect_client();
		struct voice z = {.rate = 44100, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_S32};
		aud_stream *s = open_voice(c, &z, "kill", 0);
		static int32_t zeros[2048];
		REQUIRE_EQ(aud_stream_write_all(s, zeros, 1024, TIMEOUT_MS), 0);
		uint32_t id = aud_stream_id(s);
		REQUIRE_EQ(write(p[1], &id, 4), 4);
		for (;;)
			REQUIRE_EQ(aud_stream_write_all(s, zeros, 1024, TIMEOUT_MS), 0);
	}
	close(p[1]);
	uint32_t id = 0;
	REQUIRE_EQ(read(p[0], &id, 4), 4);
	close(p[0]);
	struct mix_job job = {.sink = "kill", .n = 1, .seconds = 0.6};
	pid_t survivor = fork();
	REQUIRE(survivor >= 0);
	if (survivor == 0) {
		uint64_t start;
		REQUIRE_EQ(svc_run_clients(1, mix_client, &job, &start, 1), 1u);
		char path[300];
		snprintf(path, sizeof path, "%s/kill-start", fx.dir);
		FILE *o = fopen(path, "w");
		REQUIRE(o);
		fprintf(o, "%llu\n", (unsigned long long)start);
		fclose(o);
		_exit(0);
	}
	hv_conn *c = connect_client();
	CHECK(stream_listed(c, id, NULL));
	usleep(100000);
	REQUIRE_EQ(kill(victim, SIGKILL), 0);
	REQUIRE_EQ(waitpid(victim, NULL, 0), victim);
	/* Gone once the sink's thread let go of it (the next cycle). */
	int tries = 0;
	while (stream_listed(c, id, NULL) && tries++ < 500)
		usleep(10000);
	CHECK_MSG(!stream_listed(c, id, NULL), "the killed client's stream %u is still listed", id);
	int status;
	REQUIRE_EQ(waitpid(survivor, &status, 0), survivor);
	REQUIRE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	hv_conn_close(c);
	char path[300];
	snprintf(path, sizeof path, "%s/kill-start", fx.dir);
	FILE *o = fopen(path, "r");
	REQUIRE(o);
	unsigned long long start = 0;
	REQUIRE_EQ(fscanf(o, "%llu", &start), 1);
	fclose(o);
	size_t frames;
	float *out = read_sink("kill", &frames);
	float *ref = calloc(frames * 2, sizeof *ref);
	REQUIRE(ref);
	struct voice v = voice_of(0, 1, 0.6);
	add_voice(ref, frames, &v, start & ((1ull << 48) - 1), 1);
	double e = max_error(out, ref, 0, frames);
	CHECK_MSG(e == 0, "the survivor's output differs from its own by %g", e);
	free(out);
	free(ref);
}

/* --- garbage in a ring -------------------------------------------------- */

static void garbage_client(int k, int fd, void *ud)
{
	if (k == 0) {
		mix_client(0, fd, &(struct mix_job){.sink = "garbage", .n = 1, .seconds = 0.5});
		return;
	}
	hv_conn *c = connect_client();
	struct voice f = {.rate = RATE, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_F32};
	aud_stream *s = open_voice(c, &f, "garbage", 0);
	/* NaNs, then values far beyond full scale: both must stay this
	 * stream's problem. Written with the survivor playing over them. */
	static float bad[2 * 1024];
	for (int i = 0; i < 1024; i++) {
		bad[2 * i] = i < 512 ? NAN : 1e30f;
		bad[2 * i + 1] = i < 512 ? -NAN : -INFINITY;
	}
	REQUIRE_EQ(aud_stream_write_all(s, bad, 1024, TIMEOUT_MS), 0);
	REQUIRE_EQ(aud_stream_wait_space(s, aud_stream_capacity(s), TIMEOUT_MS), 0);
	/* Then impossible indices: the stream fails, alone. */
	struct aud_ring_header *h = aud_stream_header(s);
	atomic_store(&h->write_pos, atomic_load(&h->read_pos) + 10ull * aud_stream_capacity(s));
	int tries = 0;
	while (atomic_load(&h->state) != AUDIO_SERVER_STREAM_STATE_FAILED && tries++ < 500)
		usleep(10000);
	REQUIRE_EQ(atomic_load(&h->state), (uint32_t)AUDIO_SERVER_STREAM_STATE_FAILED);
	audio_server_stream_info info;
	REQUIRE(stream_listed(c, aud_stream_id(s), &info));
	REQUIRE_EQ(info.state, AUDIO_SERVER_STREAM_STATE_FAILED);
	REQUIRE_EQ(aud_stream_close(s), 0);
	hv_conn_close(c);
}

static void test_garbage(void)
{
	uint64_t starts[2];
	REQUIRE_EQ(svc_run_clients(2, garbage_client, NULL, starts, 2), 1u);
	size_t frames;
	float *out = read_sink("garbage", &frames);
	/* The survivor's samples, plus 0 for NaN and the limited full scale
	 * for the huge values: every sample finite and within full scale. */
	size_t bad = 0, clipped = 0;
	for (size_t i = 0; i < frames * 2; i++) {
		bad += !isfinite(out[i]) || fabsf(out[i]) >= 1.0f;
		clipped += fabsf(out[i]) > 0.9f;
	}
	CHECK_MSG(bad == 0, "%zu samples not finite or beyond full scale", bad);
	CHECK_MSG(clipped >= 512, "the huge values were not played at full scale (%zu)", clipped);
	free(out);
	hv_conn *c = connect_client();
	CHECK(hv_conn_is_open(c));
	hv_conn_close(c);
}

/* --- typed errors ------------------------------------------------------- */

static void expect_open_error(hv_conn *c, uint32_t rate, uint16_t channels, uint32_t buffer,
			      const char *sink, int want)
{
	struct aud_params p = {.rate = rate, .channels = channels, .buffer_frames = buffer, .sink = sink};
	aud_stream *s = NULL;
	int r = aud_stream_open(c, &p, &s);
	CHECK_MSG(r == want, "open(rate %u, %u channels, buffer %u, sink %s): %d (%s), expected %s",
		  rate, channels, buffer, sink, r, hv_conn_strerror(c, r), audio_server_error_name(want));
	if (r == 0)
		aud_stream_close(s);
}

static void test_errors(void)
{
	hv_conn *c = connect_client();
	expect_open_error(c, 0, 2, 0, NULL, AUDIO_SERVER_ERR_INVALID_RATE);
	expect_open_error(c, 7999, 2, 0, NULL, AUDIO_SERVER_ERR_INVALID_RATE);
	expect_open_error(c, 192001, 2, 0, NULL, AUDIO_SERVER_ERR_INVALID_RATE);
	expect_open_error(c, 48000, 300, 0, NULL, AUDIO_SERVER_ERR_INVALID_CHANNELS);
	expect_open_error(c, 48000, 0, 0, NULL, AUDIO_SERVER_ERR_INVALID_CHANNELS);
	expect_open_error(c, 48000, 2, 10, NULL, AUDIO_SERVER_ERR_INVALID_BUFFER);
	expect_open_error(c, 48000, 2, 0, "nowhere", AUDIO_SERVER_ERR_NO_SUCH_SINK);
	expect_open_error(c, 8000, 8, 0, NULL, 0);
	expect_open_error(c, 192000, 1, 0, NULL, 0);
	CHECK_EQ(audio_server_set_volume(c, 99999, 1), AUDIO_SERVER_ERR_NO_SUCH_STREAM);
	CHECK_EQ(audio_server_move_stream(c, 99999, "solo"), AUDIO_SERVER_ERR_NO_SUCH_STREAM);
	CHECK_EQ(audio_server_set_sink_volume(c, "solo", NAN), AUDIO_SERVER_ERR_INVALID_VOLUME);
	CHECK_EQ(audio_server_set_sink_volume(c, "solo", 5), AUDIO_SERVER_ERR_INVALID_VOLUME);
	CHECK_EQ(audio_server_set_sink_muted(c, "nowhere", true), AUDIO_SERVER_ERR_NO_SUCH_SINK);
	/* The connection survives its errors. */
	CHECK(stream_listed(c, 0, NULL) == false);
	hv_conn_close(c);
}

/* --- moving a stream while it plays ------------------------------------- */

static int moved_to_b;
static int on_moved(hv_call *call, const audio_client_moved_req *req)
{
	moved_to_b += !strcmp(req->sink, "moveb");
	return 0;
}

static double peak_of(const char *sink)
{
	size_t frames;
	float *out = read_sink(sink, &frames);
	double peak = 0;
	for (size_t i = 0; i < frames * 2; i++)
		peak = fmax(peak, fabs(out[i]));
	free(out);
	return peak;
}

static void test_move(void)
{
	static const audio_client_handlers events = {.moved = on_moved};
	hv_conn *c = svc_connect(&fx), *ctl = connect_client();
	REQUIRE_EQ(aud_on_events(c, &events), 0);
	struct voice v = {.rate = 44100, .channels = 2, .format = AUDIO_SERVER_SAMPLE_FORMAT_F32,
			  .amp = 0.5f, .freq = 700, .frames = 44100};
	aud_stream *s = open_voice(c, &v, "movea", 4096);
	play_range(s, &v, 0, v.frames / 2);
	/* Another client (as `audio move` would) moves it mid-stream. */
	REQUIRE_EQ(audio_server_move_stream(ctl, aud_stream_id(s), "moveb"), 0);
	play_range(s, &v, v.frames / 2, v.frames);
	REQUIRE_EQ(aud_stream_drain(s, TIMEOUT_MS), 0);
	CHECK_EQ(moved_to_b, 1);
	audio_server_stream_info info;
	REQUIRE(stream_listed(ctl, aud_stream_id(s), &info));
	CHECK_STR(info.sink, "moveb");
	CHECK_EQ(info.underruns, 0u);
	CHECK_EQ(audio_server_move_stream(ctl, aud_stream_id(s), "nowhere"),
		 AUDIO_SERVER_ERR_NO_SUCH_SINK);
	aud_stream_close(s);
	hv_conn_close(c);
	hv_conn_close(ctl);
	CHECK_MSG(peak_of("movea") > 0.45, "the stream did not play on movea first");
	CHECK_MSG(peak_of("moveb") > 0.45, "the stream did not go on on moveb");
}

/* --- 16 clients at quantum 256 with the other CPU busy ------------------ */

static uint64_t sink_xruns(hv_conn *c, const char *name, uint64_t *frames)
{
	hv_vec_audio_server_sink_info sinks;
	hv_vec_audio_server_stream_info streams;
	REQUIRE_EQ(audio_server_list(c, &sinks, &streams), 0);
	for (size_t i = 0; i < sinks.count; i++)
		if (!strcmp(sinks.items[i].name, name)) {
			*frames = sinks.items[i].frames;
			return sinks.items[i].xruns;
		}
	abort();
}

static void test_no_xruns(void)
{
	pid_t burner = fork();
	REQUIRE(burner >= 0);
	if (burner == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	hv_conn *c = connect_client();
	uint64_t f0, f1;
	uint64_t x0 = sink_xruns(c, "xrun", &f0);
	struct mix_job job = {.sink = "xrun", .n = 16, .seconds = 1.0};
	uint64_t starts[16];
	REQUIRE_EQ(svc_run_clients(16, mix_client, &job, starts, 16), 16u);
	uint64_t x1 = sink_xruns(c, "xrun", &f1);
	kill(burner, SIGKILL);
	waitpid(burner, NULL, 0);
	CHECK_MSG(x1 == x0, "%llu xruns over %llu frames with 16 clients at quantum %d",
		  (unsigned long long)(x1 - x0), (unsigned long long)(f1 - f0), Q);
	CHECK(f1 - f0 >= RATE);
	hv_conn_close(c);
}

/* --- decoding: files made here with sox, flac and lame ------------------ */

static const char *audio_cli;

/* The absolute path of tool in PATH (run_cmd execs without a search). */
static char *which(const char *tool)
{
	char cmd[128], out[512];
	snprintf(cmd, sizeof cmd, "command -v %s", tool);
	char *argv[] = {(char *)"/bin/sh", (char *)"-c", cmd, NULL};
	if (run_cmd(argv, -1, out, sizeof out, NULL, 0) != 0 || out[0] != '/')
		return NULL;
	out[strcspn(out, "\n")] = 0;
	return strdup(out);
}

static void run(char *const argv[])
{
	char err[1024];
	int r = run_cmd(argv, -1, NULL, 0, err, sizeof err);
	if (r != 0)
		fprintf(stderr, "%s: exit %d: %s\n", argv[0], r, err);
	REQUIRE_EQ(r, 0);
}

static float *decode(const char *path, size_t *frames)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(path, SFM_READ, &info);
	REQUIRE(sf);
	REQUIRE_EQ(info.channels, 2);
	float *buf = calloc((size_t)info.frames * 2 + 2, sizeof *buf);
	REQUIRE(buf);
	*frames = (size_t)sf_readf_float(sf, buf, info.frames);
	sf_close(sf);
	return buf;
}

static size_t first_loud(const float *x, size_t frames)
{
	for (size_t i = 0; i < frames; i++)
		if (fabsf(x[2 * i]) > 0.01f)
			return i;
	return frames;
}

/* `audio play FILE` into a sink, against libsndfile's decode of FILE. */
static void check_played(const char *file, const char *sink, double tolerance)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", fx.dir, file);
	run((char *const[]){(char *)audio_cli, (char *)"--socket", fx.sock, (char *)"play", path,
			    (char *)"--sink", (char *)sink, NULL});
	size_t n, m;
	float *want = decode(path, &n), *got = read_sink(sink, &m);
	size_t a = first_loud(want, n), b = first_loud(got, m);
	REQUIRE(a < n && b < m);
	size_t len = n - a < m - b ? n - a : m - b;
	CHECK_MSG(len + 64 >= n - a, "%s: only %zu of %zu frames played", file, len, n - a);
	double e = 0;
	for (size_t i = 0; i < len * 2; i++)
		e = fmax(e, fabs((double)want[2 * a + i] - got[2 * b + i]));
	CHECK_MSG(e <= tolerance, "%s: played samples differ from the decoder's by %g", file, e);
	free(want);
	free(got);
}

static void test_decode(void)
{
	char *sox = which("sox"), *flac_exe = which("flac"), *lame = which("lame");
	if (!sox || !flac_exe || !lame) {
		fprintf(stderr, "decode: skipped (needs sox, flac and lame: scripts/deps.txt)\n");
		return;
	}
	char wav[300], flac[300], mp3[300];
	snprintf(wav, sizeof wav, "%s/t.wav", fx.dir);
	snprintf(flac, sizeof flac, "%s/t.flac", fx.dir);
	snprintf(mp3, sizeof mp3, "%s/t.mp3", fx.dir);
	run((char *const[]){sox, (char *)"-n", (char *)"-r", (char *)"48000", (char *)"-c",
			    (char *)"2", (char *)"-b", (char *)"16", wav, (char *)"synth", (char *)"0.5",
			    (char *)"sine", (char *)"440", (char *)"sine", (char *)"660", (char *)"vol",
			    (char *)"0.5", NULL});
	run((char *const[]){flac_exe, (char *)"-s", (char *)"-f", (char *)"-o", flac, wav, NULL});
	run((char *const[]){lame, (char *)"--quiet", wav, mp3, NULL});
	/* Lossless: sample for sample. MP3: the same decoder on both sides,
	 * so equal too, but the issue allows a tolerance: 1e-4. */
	check_played("t.wav", "decwav", 0);
	check_played("t.flac", "decflac", 0);
	check_played("t.mp3", "decmp3", 1e-4);
	free(sox);
	free(flac_exe);
	free(lame);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 3);
	audio_cli = argv[2];
	static const char *args[4];
	static const char *sargs[64];
	svc_prepare(&fx, argv[1], "audio", args);
	static char specs[32][320];
	int n = 0, a = 0;
	for (; sink_names[n]; n++) {
		snprintf(paths[n], sizeof paths[n], "%s/%s.wav", fx.dir, sink_names[n]);
		snprintf(specs[n], sizeof specs[n], "%s=%s%s", sink_names[n],
			 strcmp(sink_names[n], "xrun") ? "file:" : "null", strcmp(sink_names[n], "xrun") ? paths[n] : "");
		sargs[a++] = "--sink";
		sargs[a++] = specs[n];
	}
	sargs[a++] = "--quantum";
	sargs[a++] = "256";
	/* More arguments than svc_respawn passes: started here the same way
	 * (the socket as fd 3), and stopped by svc_stop. */
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		svc_child_setup(fx.listen_fd, "audio");
		char *argv_[70] = {argv[1]};
		for (int i = 0; i < a; i++)
			argv_[i + 1] = (char *)sargs[i];
		execv(argv[1], argv_);
		_exit(127);
	}
	fx.pid = pid;
	test_errors();
	test_mix("mix2", 2, 0.5);
	test_mix("mix16", 16, 0.5);
	test_volume();
	test_limiter();
	test_latency();
	test_underrun_isolation();
	test_killed_client();
	test_garbage();
	test_move();
	test_no_xruns();
	test_decode();
	svc_stop(&fx);
	return check_result();
}
