/* AudioServer.c — the event loop's half of the AudioServer: the options,
 * the sinks' lifetimes, the streams' registry, the handlers of
 * AudioServer.ipc (one per message) and the events of AudioClient.ipc.
 * The mixing threads' half is mixer.c; what they share, AudioServer.h. */
#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/service.h>

#include "AudioServer.h"
#include "config-client.h"

static const char *sink_specs[AUS_MAX_SINKS];
static unsigned n_specs;
static int64_t opt_rate = AUS_DEFAULT_RATE, opt_quantum;
static unsigned quality = SOXR_HQ;

static struct aus_sink *sinks[AUS_MAX_SINKS];
static unsigned n_sinks;
static hv_watch *watches[AUS_MAX_SINKS];
static struct aus_stream *streams;
static unsigned n_streams;
static uint32_t next_id = 1;
static conf_follow *follow;

static int parse_sink(const char *arg, void *target)
{
	if (n_specs == AUS_MAX_SINKS)
		return -E2BIG;
	sink_specs[n_specs++] = arg;
	return 0;
}

static int parse_quality(const char *arg, void *target)
{
	static const char *const names[] = {"quick", "low", "medium", "high", "very-high"};
	static const unsigned values[] = {SOXR_QQ, SOXR_LQ, SOXR_MQ, SOXR_HQ, SOXR_VHQ};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (!strcmp(arg, names[i])) {
			quality = values[i];
			return 0;
		}
	return -EINVAL;
}

const hv_option aus_options[] = {
	HV_OPT_CUSTOM("sink", "SPEC", parse_sink, NULL,
		      "null | file:OUT.wav | alsa[:DEVICE], optionally NAME= first;\n"
		      "repeatable (up to 16); default: one null sink"),
	HV_OPT_INT("rate", "HZ", &opt_rate, AUS_MIN_RATE, AUS_MAX_RATE, "the sinks' rate (48000)"),
	HV_OPT_INT("quantum", "FRAMES", &opt_quantum, AUS_MIN_QUANTUM, AUS_MAX_QUANTUM,
		   "frames per mixing cycle (default: ConfigServer's Audio/Mixer/Quantum, else 256)"),
	HV_OPT_CUSTOM("resample-quality", "Q", parse_quality, NULL,
		      "quick | low | medium | high | very-high (libsoxr; default high)"),
	{0},
};

/* --- lookups ------------------------------------------------------------ */

static struct aus_sink *find_sink(const char *name)
{
	if (!name[0])
		return sinks[0];
	for (unsigned i = 0; i < n_sinks; i++)
		if (!strcmp(sinks[i]->name, name))
			return sinks[i];
	return NULL;
}

static struct aus_stream *find_stream(uint32_t id)
{
	for (struct aus_stream *s = streams; s; s = s->next)
		if (s->id == id && !s->closing)
			return s;
	return NULL;
}

/* Room in a sink's queue, keeping enough for every stream's removal: a
 * client cannot stop another's stream from being freed. */
static bool cmd_room(struct aus_sink *k, unsigned keep)
{
	uint32_t used = atomic_load(&k->cmds.head) - atomic_load(&k->cmds.tail);
	return used + keep < AUS_CMDQ_SIZE;
}

static bool send_cmd(struct aus_sink *k, uint32_t op, void *ptr)
{
	return aus_cmdq_push(&k->cmds, (struct aus_cmd){.op = op, .ptr = ptr});
}

/* --- streams ------------------------------------------------------------ */

static void stream_free(struct aus_stream *s)
{
	for (struct aus_stream **p = &streams; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	n_streams--;
	hv_watch_free(s->data_watch);
	aus_stream_release(s);
	hv_buffer_release(&s->ring);
	if (s->space_fd >= 0)
		close(s->space_fd);
	if (s->data_fd >= 0)
		close(s->data_fd);
	free(s->name);
	free(s);
}

/* The stream leaves its sink now; it is freed when the thread lets go. */
static void stream_close(struct aus_stream *s)
{
	s->closing = true;
	s->owner = NULL;
	if (!s->move_to && !send_cmd(s->sink, AUS_CMD_REMOVE, s))
		hv_log_error("stream %u: the sink's queue is full; it is freed later", s->id);
}

static void report(struct aus_stream *s)
{
	uint32_t ev = atomic_exchange(&s->events, 0);
	uint32_t state = atomic_load(&s->state);
	if (!s->owner || s->closing)
		return;
	if (state == s->reported_state)
		return;
	if (state == AUDIO_SERVER_STREAM_STATE_UNDERRUN && (ev & AUS_EV_UNDERRUN))
		audio_client_underrun(s->owner, s->id, atomic_load(&s->underruns));
	audio_client_state_changed(s->owner, s->id, state);
	s->reported_state = state;
}

static void on_ack(struct aus_sink *k, struct aus_cmd c)
{
	struct aus_stream *s = c.ptr;
	switch (c.op) {
	case AUS_CMD_REMOVE:
		if (s->closing) {
			stream_free(s);
		} else if (s->move_to) {
			s->sink = s->move_to;
			s->move_to = NULL;
			if (!send_cmd(s->sink, AUS_CMD_ADD, s))
				hv_log_error("stream %u: sink %s's queue is full", s->id, s->sink->name);
			if (s->owner)
				audio_client_moved(s->owner, s->id, s->sink->name);
		}
		break;
	case AUS_CMD_UNRECORD:
		sf_close(c.ptr);
		break;
	default:
		break;
	}
}

static void on_sink_notify(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	struct aus_sink *k = userdata;
	uint64_t n;
	(void)!read(fd, &n, sizeof n);
	struct aus_cmd c;
	while (aus_cmdq_pop(&k->acks, &c))
		on_ack(k, c);
	for (struct aus_stream *s = streams; s; s = s->next)
		if (s->sink == k)
			report(s);
}

static void on_data_ready(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	uint64_t n;
	(void)!read(fd, &n, sizeof n);
}

static int validate(hv_call *call, const audio_server_stream_params *p)
{
	if (p->rate < AUS_MIN_RATE || p->rate > AUS_MAX_RATE)
		return audio_server_error(call, AUDIO_SERVER_ERR_INVALID_RATE,
					  "rate %u Hz: the rate must be 8000..192000 Hz", p->rate);
	if (p->channels < 1 || p->channels > AUS_MAX_CHANNELS)
		return audio_server_error(call, AUDIO_SERVER_ERR_INVALID_CHANNELS,
					  "%u channels: the channel count must be 1..8", p->channels);
	if (p->buffer_frames && (p->buffer_frames < AUS_MIN_BUFFER || p->buffer_frames > AUS_MAX_BUFFER))
		return audio_server_error(call, AUDIO_SERVER_ERR_INVALID_BUFFER, NULL);
	return 0;
}

/* The fallible half of stream_new: the ring, its eventfds, the resampler. */
static int stream_init(struct aus_stream *s, const audio_server_stream_params *p, struct aus_sink *k)
{
	if (!(s->name = strdup(p->name)))
		return -ENOMEM;
	int r = hv_buffer_create(AUD_RING_HEADER_SIZE + (size_t)s->capacity * s->frame_bytes, &s->ring);
	if (r < 0)
		return r;
	s->space_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->data_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->space_fd < 0 || s->data_fd < 0)
		return -errno;
	s->hdr = s->ring.data;
	s->data = (uint8_t *)s->ring.data + AUD_RING_HEADER_SIZE;
	*s->hdr = (struct aud_ring_header){.magic = AUD_RING_MAGIC, .version = AUD_RING_VERSION,
					   .capacity = s->capacity, .frame_bytes = s->frame_bytes};
	atomic_store(&s->hdr->start_pos, AUD_RING_NO_POSITION);
	atomic_store(&s->hdr->quantum, k->quantum);
	return aus_stream_prepare(s, k->rate, quality);
}

static int stream_new(hv_call *call, const audio_server_stream_params *p, struct aus_sink *k,
		      struct aus_stream **out)
{
	struct aus_stream *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->ring = HV_BUFFER_EMPTY;
	s->space_fd = s->data_fd = -1;
	s->rate = p->rate;
	s->channels = p->channels;
	s->format = p->format;
	s->capacity = p->buffer_frames ? p->buffer_frames : AUS_DEFAULT_BUFFER;
	s->frame_bytes = p->channels * (p->format == AUDIO_SERVER_SAMPLE_FORMAT_S16 ? 2u : 4u);
	s->sink = k;
	s->owner = hv_call_conn(call);
	s->pid = hv_call_peer(call) ? hv_call_peer(call)->pid : 0;
	s->reported_state = AUDIO_SERVER_STREAM_STATE_PREBUFFERING;
	atomic_init(&s->volume, 1.0f);
	s->next = streams;
	streams = s;
	n_streams++;
	int r = stream_init(s, p, k);
	if (r < 0) {
		stream_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* --- handlers, one per message of AudioServer.ipc ------------------------ */

static int on_open_stream(hv_call *call, const audio_server_open_stream_req *req,
			  audio_server_open_stream_rep *rep)
{
	int r = validate(call, &req->params);
	if (r < 0)
		return r;
	struct aus_sink *k = find_sink(req->sink);
	if (!k)
		return audio_server_error(call, AUDIO_SERVER_ERR_NO_SUCH_SINK, "no sink '%s'", req->sink);
	if (n_streams >= AUS_MAX_STREAMS)
		return AUDIO_SERVER_ERR_TOO_MANY_STREAMS;
	if (!cmd_room(k, 2 * AUS_MAX_STREAMS))
		return AUDIO_SERVER_ERR_BUSY;
	struct aus_stream *s;
	if ((r = stream_new(call, &req->params, k, &s)) < 0)
		return r;
	s->id = next_id++;
	r = hv_loop_add_fd(hv_conn_loop(hv_call_conn(call)), s->data_fd, HV_IO_READ, on_data_ready,
			   s, &s->data_watch);
	if (r < 0) {
		stream_free(s);
		return r;
	}
	send_cmd(k, AUS_CMD_ADD, s);
	*rep = (audio_server_open_stream_rep){
		.stream_id = s->id, .ring = s->ring, .space_ready = s->space_fd,
		.data_ready = s->data_fd, .capacity = s->capacity, .sink_rate = k->rate,
		.quantum = atomic_load(&k->want_quantum)};
	return 0;
}

static int on_close_stream(hv_call *call, const audio_server_close_stream_req *req,
			   audio_server_close_stream_rep *rep)
{
	struct aus_stream *s = find_stream(req->stream_id);
	if (!s)
		return AUDIO_SERVER_ERR_NO_SUCH_STREAM;
	stream_close(s);
	return 0;
}

static int on_set_paused(hv_call *call, const audio_server_set_paused_req *req,
			 audio_server_set_paused_rep *rep)
{
	struct aus_stream *s = find_stream(req->stream_id);
	if (!s)
		return AUDIO_SERVER_ERR_NO_SUCH_STREAM;
	atomic_store(&s->paused, req->paused);
	return 0;
}

static int check_volume(hv_call *call, float v)
{
	if (!(v >= 0.0f && v <= AUS_MAX_VOLUME)) /* NaN too */
		return audio_server_error(call, AUDIO_SERVER_ERR_INVALID_VOLUME, NULL);
	return 0;
}

static int on_set_volume(hv_call *call, const audio_server_set_volume_req *req,
			 audio_server_set_volume_rep *rep)
{
	struct aus_stream *s = find_stream(req->stream_id);
	if (!s)
		return AUDIO_SERVER_ERR_NO_SUCH_STREAM;
	int r = check_volume(call, req->volume);
	if (r < 0)
		return r;
	atomic_store(&s->volume, req->volume);
	return 0;
}

static int on_set_muted(hv_call *call, const audio_server_set_muted_req *req,
			audio_server_set_muted_rep *rep)
{
	struct aus_stream *s = find_stream(req->stream_id);
	if (!s)
		return AUDIO_SERVER_ERR_NO_SUCH_STREAM;
	atomic_store(&s->muted, req->muted);
	return 0;
}

static int on_set_sink_volume(hv_call *call, const audio_server_set_sink_volume_req *req,
			      audio_server_set_sink_volume_rep *rep)
{
	struct aus_sink *k = find_sink(req->sink);
	if (!k)
		return audio_server_error(call, AUDIO_SERVER_ERR_NO_SUCH_SINK, "no sink '%s'", req->sink);
	int r = check_volume(call, req->volume);
	if (r < 0)
		return r;
	atomic_store(&k->volume, req->volume);
	return 0;
}

static int on_set_sink_muted(hv_call *call, const audio_server_set_sink_muted_req *req,
			     audio_server_set_sink_muted_rep *rep)
{
	struct aus_sink *k = find_sink(req->sink);
	if (!k)
		return audio_server_error(call, AUDIO_SERVER_ERR_NO_SUCH_SINK, "no sink '%s'", req->sink);
	atomic_store(&k->muted, req->muted);
	return 0;
}

static int on_move_stream(hv_call *call, const audio_server_move_stream_req *req,
			  audio_server_move_stream_rep *rep)
{
	struct aus_stream *s = find_stream(req->stream_id);
	if (!s)
		return AUDIO_SERVER_ERR_NO_SUCH_STREAM;
	struct aus_sink *k = find_sink(req->sink);
	if (!k)
		return audio_server_error(call, AUDIO_SERVER_ERR_NO_SUCH_SINK, "no sink '%s'", req->sink);
	if (s->move_to)
		return AUDIO_SERVER_ERR_BUSY;
	if (k == s->sink)
		return 0;
	if (!cmd_room(s->sink, AUS_MAX_STREAMS) || !cmd_room(k, AUS_MAX_STREAMS))
		return AUDIO_SERVER_ERR_BUSY;
	/* Every sink runs at the server's rate: the resampler state moves too. */
	s->move_to = k;
	send_cmd(s->sink, AUS_CMD_REMOVE, s);
	return 0;
}

static uint32_t queued(const struct aus_stream *s)
{
	uint64_t q = atomic_load(&s->hdr->write_pos) - atomic_load(&s->hdr->read_pos);
	return q > s->capacity ? 0 : (uint32_t)q;
}

static int on_list(hv_call *call, const audio_server_list_req *req, audio_server_list_rep *rep)
{
	rep->sinks.items = hv_call_calloc(call, n_sinks, sizeof *rep->sinks.items);
	rep->streams.items = hv_call_calloc(call, n_streams + 1, sizeof *rep->streams.items);
	if (!rep->sinks.items || !rep->streams.items)
		return -ENOMEM;
	for (unsigned i = 0; i < n_sinks; i++) {
		struct aus_sink *k = sinks[i];
		rep->sinks.items[rep->sinks.count++] = (audio_server_sink_info){
			.name = k->name, .kind = aus_sink_kind_name(k->kind), .device = k->device,
			.rate = k->rate, .channels = AUS_CHANNELS,
			.quantum = atomic_load(&k->want_quantum), .volume = atomic_load(&k->volume),
			.muted = atomic_load(&k->muted), .frames = atomic_load(&k->frames),
			.xruns = atomic_load(&k->xruns), .streams = atomic_load(&k->streams)};
	}
	for (struct aus_stream *s = streams; s; s = s->next) {
		if (s->closing)
			continue;
		rep->streams.items[rep->streams.count++] = (audio_server_stream_info){
			.id = s->id, .name = s->name, .pid = (uint32_t)s->pid,
			.sink = (s->move_to ? s->move_to : s->sink)->name, .rate = s->rate,
			.channels = s->channels, .format = s->format, .volume = atomic_load(&s->volume),
			.muted = atomic_load(&s->muted), .state = atomic_load(&s->state),
			.underruns = atomic_load(&s->underruns), .frames_played = atomic_load(&s->played),
			.queued_frames = queued(s)};
	}
	return 0;
}

static int on_latency(hv_call *call, const audio_server_latency_req *req,
		      audio_server_latency_rep *rep)
{
	struct aus_stream *s = find_stream(req->stream_id);
	if (!s)
		return AUDIO_SERVER_ERR_NO_SUCH_STREAM;
	rep->queued_frames = (uint32_t)((uint64_t)queued(s) * s->sink->rate / s->rate);
	rep->quantum = atomic_load(&s->sink->want_quantum);
	rep->device_frames = aus_sink_device_delay(s->sink);
	return 0;
}

static void stop_recording(struct aus_conn *ac)
{
	if (!ac->recording)
		return;
	if (!send_cmd(ac->recording_sink, AUS_CMD_UNRECORD, ac->recording))
		hv_log_error("sink %s: queue full; a recording stays open", ac->recording_sink->name);
	ac->recording_sink->recorder = NULL;
	ac->recording = NULL;
	ac->recording_sink = NULL;
}

static int on_record(hv_call *call, const audio_server_record_req *req, audio_server_record_rep *rep)
{
	struct aus_conn *ac = hv_call_state(call);
	struct aus_sink *k = find_sink(req->sink);
	if (!k)
		return audio_server_error(call, AUDIO_SERVER_ERR_NO_SUCH_SINK, "no sink '%s'", req->sink);
	if ((k->recorder && k->recorder != ac) || !cmd_room(k, 2 * AUS_MAX_STREAMS))
		return audio_server_error(call, AUDIO_SERVER_ERR_BUSY, "sink '%s' is being recorded",
					  req->sink);
	stop_recording(ac);
	/* Ours from here (0, not the fd, on success). */
	int fd = req->file, r = hv_call_take_fd(call, fd);
	if (r < 0)
		return r;
	SF_INFO info = {.samplerate = (int)k->rate, .channels = AUS_CHANNELS,
			.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
	SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, SF_TRUE);
	if (!sf) {
		close(fd);
		return hv_call_fail(call, -EINVAL, "cannot write a WAV file there: %s", sf_strerror(NULL));
	}
	sf_command(sf, SFC_SET_UPDATE_HEADER_AUTO, NULL, SF_TRUE);
	send_cmd(k, AUS_CMD_RECORD, sf);
	ac->recording = sf;
	ac->recording_sink = k;
	k->recorder = ac;
	return 0;
}

static int on_stop_recording(hv_call *call, const audio_server_stop_recording_req *req,
			     audio_server_stop_recording_rep *rep)
{
	stop_recording(hv_call_state(call));
	return 0;
}

const audio_server_handlers aus_handlers = {
	.open_stream = on_open_stream,
	.close_stream = on_close_stream,
	.set_paused = on_set_paused,
	.set_volume = on_set_volume,
	.set_muted = on_set_muted,
	.set_sink_volume = on_set_sink_volume,
	.set_sink_muted = on_set_sink_muted,
	.move_stream = on_move_stream,
	.list = on_list,
	.latency = on_latency,
	.record = on_record,
	.stop_recording = on_stop_recording,
};

/* A client that leaves frees its streams at once (they leave the mix at
 * the next cycle) and ends its recording. */
void aus_conn_fini(hv_conn *c, void *state)
{
	for (struct aus_stream *s = streams; s; s = s->next)
		if (s->owner == c && !s->closing)
			stream_close(s);
	stop_recording(state);
}

/* --- the service's life ------------------------------------------------- */

static void apply_quantum(const char *value, void *userdata)
{
	int64_t q = AUS_DEFAULT_QUANTUM;
	if (value && hv_parse_i64(value, AUS_MIN_QUANTUM, AUS_MAX_QUANTUM, &q) < 0) {
		hv_log_warn("ignoring Audio/Mixer/Quantum = \"%s\": not a number in %d..%d", value,
			    AUS_MIN_QUANTUM, AUS_MAX_QUANTUM);
		return;
	}
	for (unsigned i = 0; i < n_sinks; i++)
		atomic_store(&sinks[i]->want_quantum, (uint32_t)q);
	hv_log_info("quantum %lld frames (%s)", (long long)q, value ? "from ConfigServer" : "default");
}

int aus_setup(hv_server *srv)
{
	if (!n_specs)
		sink_specs[n_specs++] = "null";
	uint32_t q = opt_quantum ? (uint32_t)opt_quantum : AUS_DEFAULT_QUANTUM;
	for (unsigned i = 0; i < n_specs; i++) {
		struct aus_sink *k;
		int r = aus_sink_open(sink_specs[i], (uint32_t)opt_rate, q, &k);
		if (r < 0)
			return r;
		/* An unnamed kind that repeats gets the sink's index. */
		if (find_sink(k->name) && n_sinks) {
			char *name;
			if (asprintf(&name, "%s%u", aus_sink_kind_name(k->kind), i) < 0 || find_sink(name)) {
				hv_log_error("--sink %s: a sink named %s exists", sink_specs[i], k->name);
				aus_sink_free(k);
				return -EEXIST;
			}
			free(k->name);
			k->name = name;
		}
		sinks[n_sinks++] = k;
		r = hv_loop_add_fd(hv_server_loop(srv), k->notify_fd, HV_IO_READ, on_sink_notify, k,
				   &watches[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int aus_ready(hv_server *srv)
{
	for (unsigned i = 0; i < n_sinks; i++) {
		int r = aus_sink_start(sinks[i]);
		if (r < 0)
			return hv_log_error("sink %s: cannot start its thread: %s", sinks[i]->name,
					    strerror(-r)), r;
	}
	/* Never waits for ConfigServer: the quantum changes when it answers. */
	if (!opt_quantum &&
	    conf_follow_new(hv_server_loop(srv), NULL, "Audio", "Mixer", "Quantum", apply_quantum,
			    NULL, &follow) < 0)
		hv_log_info("no ConfigServer setting followed: quantum %d", AUS_DEFAULT_QUANTUM);
	return 0;
}

void aus_teardown(int exit_code)
{
	conf_follow_free(follow);
	for (unsigned i = 0; i < n_sinks; i++)
		aus_sink_stop(sinks[i]);
	while (streams)
		stream_free(streams);
	for (unsigned i = 0; i < n_sinks; i++) {
		hv_watch_free(watches[i]);
		if (sinks[i]->recording)
			sf_close(sinks[i]->recording);
		aus_sink_free(sinks[i]);
	}
}
