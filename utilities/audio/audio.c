/* audio — the command-line client of AudioServer.
 *
 *   audio [--socket PATH] play FILE [--sink NAME] [--volume V] [--name N]
 *   audio [--socket PATH] list [--json]
 *   audio [--socket PATH] volume [STREAM] V      (no STREAM: the sink's)
 *   audio [--socket PATH] mute|unmute [STREAM]   (no STREAM: the sink)
 *   audio [--socket PATH] move STREAM SINK
 *   audio [--socket PATH] record --sink NAME FILE.wav [--seconds N]
 *
 * `play` decodes in this process with libsndfile (WAV, FLAC, Ogg, MP3 and
 * the rest it reads) and streams float frames at the file's own rate and
 * channel count: the server converts. Exit: 0 done, 1 the request failed,
 * 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haven/options.h>
#include <haven/util.h>

#include "audio-client.h"
#include "cli.h"

static const char *socket_path, *sink_name, *stream_name;
static const char *volume_arg;
static int64_t seconds = -1;
static bool json;

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "AudioServer's socket (default: its portal)"),
	HV_OPT_STRING("sink", "NAME", &sink_name, "the sink to play to / record (default: the first)"),
	HV_OPT_STRING("volume", "V", &volume_arg, "play: the stream's gain, 0..4 (default 1)"),
	HV_OPT_STRING("name", "NAME", &stream_name, "play: the stream's name (default: the file's)"),
	HV_OPT_INT("seconds", "N", &seconds, 0, 86400, "record: stop after N seconds (default: at ^C)"),
	HV_OPT_FLAG("json", &json, "list: print JSON"),
	{0},
};

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "audio",
	.args = "play FILE | list | volume [STREAM] V | mute [STREAM] | unmute [STREAM] |\n"
		"       move STREAM SINK | record --sink NAME FILE.wav",
	.summary = "Play, list, route and record through AudioServer. Options may follow\n"
		   "the verb. Exit: 0 done, 1 the request failed, 2 usage.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 0,
	.max_args = -1,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

static hv_conn *conn(void)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, AUD_PORTAL, socket_path, &c) < 0)
		return NULL;
	aud_on_events(c, NULL);
	return c;
}

static int parse_volume(const char *s, float *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 4))
		return cli_usage_error("bad volume \"%s\": a number in 0..4", s);
	*out = (float)v;
	return 0;
}

static int parse_stream(const char *s, uint32_t *out)
{
	uint64_t v;
	if (hv_parse_u64(s, UINT32_MAX, &v) < 0 || !v)
		return cli_usage_error("bad STREAM \"%s\": a stream id (audio list)", s);
	*out = (uint32_t)v;
	return 0;
}

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { interrupted = 1; }

static int stream_file(hv_conn *c, SNDFILE *sf, const SF_INFO *info, const char *file)
{
	const char *base = strrchr(file, '/');
	struct aud_params p = {.rate = (uint32_t)info->samplerate, .channels = (uint8_t)info->channels,
			       .format = AUDIO_SERVER_SAMPLE_FORMAT_F32, .sink = sink_name,
			       .name = stream_name ? stream_name : base ? base + 1 : file};
	aud_stream *s = NULL;
	int r = aud_stream_open(c, &p, &s);
	if (r < 0)
		return cli_fail(c, r, "cannot open a stream");
	float vol = 1;
	if (volume_arg && (parse_volume(volume_arg, &vol) < 0 ||
			   (r = audio_server_set_volume(c, aud_stream_id(s), vol)) < 0)) {
		aud_stream_close(s);
		return r < 0 ? cli_fail(c, r, "cannot set the volume") : 2;
	}
	enum { CHUNK = 4096 };
	float *buf = malloc(sizeof(float) * CHUNK * (size_t)info->channels);
	sf_count_t n = 0;
	while (buf && !interrupted && (n = sf_readf_float(sf, buf, CHUNK)) > 0)
		if ((r = aud_stream_write_all(s, buf, (size_t)n, cli_timeout_ms())) < 0)
			break;
	free(buf);
	if (!buf)
		r = -ENOMEM;
	if (r >= 0 && !interrupted)
		r = aud_stream_drain(s, cli_timeout_ms());
	if (r < 0) {
		aud_stream_close(s);
		return cli_fail(c, r, r == -EPROTO ? "the server dropped the stream" : "cannot play");
	}
	if ((r = aud_stream_close(s)) < 0)
		return cli_fail(c, r, "cannot close the stream");
	return interrupted ? 1 : 0;
}

static int cmd_play(int argc, char **argv, void *userdata)
{
	SF_INFO info = {0};
	SNDFILE *sf = sf_open(argv[1], SFM_READ, &info);
	if (!sf) {
		fprintf(stderr, "audio: %s: %s\n", argv[1], sf_strerror(NULL));
		return 1;
	}
	if (info.channels < 1 || info.channels > 8 || info.samplerate < 8000 ||
	    info.samplerate > 192000) {
		fprintf(stderr, "audio: %s: %d channels at %d Hz: AudioServer takes 1..8 channels at "
				"8000..192000 Hz\n", argv[1], info.channels, info.samplerate);
		sf_close(sf);
		return 1;
	}
	hv_conn *c = conn();
	if (!c) {
		sf_close(sf);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int r = stream_file(c, sf, &info, argv[1]);
	sf_close(sf);
	hv_conn_close(c);
	return r;
}

static void print_json(const audio_server_list_rep *l)
{
	printf("{\"sinks\":[");
	for (size_t i = 0; i < l->sinks.count; i++) {
		const audio_server_sink_info *k = &l->sinks.items[i];
		printf("%s{\"name\":", i ? "," : "");
		cli_json_string(stdout, k->name);
		printf(",\"kind\":\"%s\",\"device\":", k->kind);
		cli_json_string(stdout, k->device);
		printf(",\"rate\":%u,\"channels\":%u,\"quantum\":%u,\"volume\":%g,\"muted\":%s,"
		       "\"frames\":%" PRIu64 ",\"xruns\":%" PRIu64 ",\"streams\":%u}",
		       k->rate, k->channels, k->quantum, k->volume, k->muted ? "true" : "false",
		       k->frames, k->xruns, k->streams);
	}
	printf("],\"streams\":[");
	for (size_t i = 0; i < l->streams.count; i++) {
		const audio_server_stream_info *s = &l->streams.items[i];
		printf("%s{\"id\":%u,\"name\":", i ? "," : "", s->id);
		cli_json_string(stdout, s->name);
		printf(",\"pid\":%u,\"sink\":", s->pid);
		cli_json_string(stdout, s->sink);
		printf(",\"rate\":%u,\"channels\":%u,\"format\":\"%s\",\"volume\":%g,\"muted\":%s,"
		       "\"state\":\"%s\",\"underruns\":%" PRIu64 ",\"frames_played\":%" PRIu64
		       ",\"queued_frames\":%u}",
		       s->rate, s->channels, aud_format_name(s->format), s->volume,
		       s->muted ? "true" : "false", aud_state_name(s->state), s->underruns,
		       s->frames_played, s->queued_frames);
	}
	printf("]}\n");
}

static void print_text(const audio_server_list_rep *l)
{
	printf("SINK\tKIND\tRATE\tQUANTUM\tVOLUME\tXRUNS\tSTREAMS\tDEVICE\n");
	for (size_t i = 0; i < l->sinks.count; i++) {
		const audio_server_sink_info *k = &l->sinks.items[i];
		printf("%s\t%s\t%u\t%u\t%.2f%s\t%" PRIu64 "\t%u\t%s\n", k->name, k->kind, k->rate,
		       k->quantum, k->volume, k->muted ? " (muted)" : "", k->xruns, k->streams,
		       k->device);
	}
	if (!l->streams.count)
		return;
	printf("\nSTREAM\tSINK\tSTATE\tFORMAT\tVOLUME\tUNDERRUNS\tPID\tNAME\n");
	for (size_t i = 0; i < l->streams.count; i++) {
		const audio_server_stream_info *s = &l->streams.items[i];
		printf("%u\t%s\t%s\t%s/%u/%u\t%.2f%s\t%" PRIu64 "\t%u\t%s\n", s->id, s->sink,
		       aud_state_name(s->state), aud_format_name(s->format), s->rate, s->channels,
		       s->volume, s->muted ? " (muted)" : "", s->underruns, s->pid, s->name);
	}
}

static int cmd_list(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn();
	if (!c)
		return 1;
	audio_server_list_rep l;
	int r = audio_server_list(c, &l.sinks, &l.streams);
	if (r < 0)
		r = cli_fail(c, r, "cannot list");
	else if (json)
		print_json(&l);
	else
		print_text(&l);
	hv_conn_close(c);
	return r;
}

static int cmd_volume(int argc, char **argv, void *userdata)
{
	uint32_t id = 0;
	float v;
	if ((argc == 3 && parse_stream(argv[1], &id) < 0) || parse_volume(argv[argc - 1], &v) < 0)
		return 2;
	hv_conn *c = conn();
	if (!c)
		return 1;
	int r = id ? audio_server_set_volume(c, id, v)
		   : audio_server_set_sink_volume(c, sink_name ? sink_name : "", v);
	r = r < 0 ? cli_fail(c, r, "cannot set the volume") : 0;
	hv_conn_close(c);
	return r;
}

static int cmd_mute(int argc, char **argv, void *userdata)
{
	bool on = !strcmp(argv[0], "mute");
	uint32_t id = 0;
	if (argc == 2 && parse_stream(argv[1], &id) < 0)
		return 2;
	hv_conn *c = conn();
	if (!c)
		return 1;
	int r = id ? audio_server_set_muted(c, id, on)
		   : audio_server_set_sink_muted(c, sink_name ? sink_name : "", on);
	r = r < 0 ? cli_fail(c, r, on ? "cannot mute" : "cannot unmute") : 0;
	hv_conn_close(c);
	return r;
}

static int cmd_move(int argc, char **argv, void *userdata)
{
	uint32_t id = 0;
	if (parse_stream(argv[1], &id) < 0)
		return 2;
	hv_conn *c = conn();
	if (!c)
		return 1;
	int r = audio_server_move_stream(c, id, argv[2]);
	r = r < 0 ? cli_fail(c, r, "cannot move the stream") : 0;
	hv_conn_close(c);
	return r;
}

static int cmd_record(int argc, char **argv, void *userdata)
{
	if (!sink_name)
		return cli_usage_error("record needs --sink NAME");
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "audio: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	hv_conn *c = conn();
	if (!c) {
		close(fd);
		return 1;
	}
	int r = audio_server_record(c, sink_name, fd);
	close(fd);
	if (r < 0) {
		r = cli_fail(c, r, "cannot record"); /* reads c's last error: before closing it */
		hv_conn_close(c);
		return r;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (seconds >= 0) {
		struct timespec ts = {.tv_sec = (time_t)seconds};
		while (!interrupted && nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	} else {
		while (!interrupted)
			pause();
	}
	/* The server closes the file (final WAV sizes) when asked or when we leave. */
	r = audio_server_stop_recording(c);
	r = r < 0 ? cli_fail(c, r, "cannot stop recording") : 0;
	hv_conn_close(c);
	return r;
}

static const hv_verb verbs[] = {
	{"play", 1, 1, cmd_play},
	{"list", 0, 0, cmd_list},
	{"volume", 1, 2, cmd_volume},
	{"mute", 0, 1, cmd_mute},
	{"unmute", 0, 1, cmd_mute},
	{"move", 2, 2, cmd_move},
	{"record", 1, 1, cmd_record},
	{0},
};

int main(int argc, char **argv)
{
	cli_init("audio", "AudioServer", usage);
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	/* The verb's own arguments: options may come among them too. */
	char **args = calloc((size_t)argc + 1, sizeof *args);
	if (!args)
		return 1;
	int n = 0;
	for (int i = first; i < argc;) {
		int next = 0;
		/* argv[i] is the verb or a positional: collect it, parse options after it. */
		args[n++] = argv[i];
		int rest = argc - i - 1;
		char *sub[rest + 2];
		sub[0] = argv[i];
		for (int k = 0; k < rest; k++)
			sub[k + 1] = argv[i + 1 + k];
		sub[rest + 1] = NULL;
		r = hv_options_parse(&cmd, rest + 1, sub, &next);
		if (r <= 0) {
			free(args);
			return hv_options_exit_code(r);
		}
		i += next;
	}
	args[n] = NULL;
	r = cli_dispatch(n, args, verbs, NULL);
	free(args);
	return r;
}
