/* ImageDecoder — decodes untrusted images for one client, in a process of
 * its own that can do nothing else (docs/imagedecoder.md).
 *
 *   ImageDecoder [--socket PATH] [--max-pixels N] [--max-memory MIB]
 *                [--cpu-seconds N] [--max-input MIB] [--debug-hooks]
 *
 * SystemServer starts one per connection (AcceptSocketConnections) and
 * hands it the connection; --socket PATH serves a path instead (by hand).
 * Order: limits (rlimits), the decode worker, the connection, then the
 * sandbox - stdio recvfd sendfd and no filesystem at all - and only then
 * is a byte of input read. The process exits when its client goes.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <haven/ipc.h>
#include <haven/log.h>
#include <haven/sandbox.h>

#include "ImageDecoder.h"
#include "image.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void usage(FILE *f)
{
	fprintf(f, "Usage: ImageDecoder [--socket PATH] [--max-pixels N] [--max-memory MIB]\n"
		   "                    [--cpu-seconds N] [--max-input MIB] [--debug-hooks]\n"
		   "Decodes images for one client in a sandboxed process (stdio recvfd sendfd,\n"
		   "no filesystem). Serves the connection handed over by SystemServer\n"
		   "(LISTEN_FDS), or PATH with --socket. Limits default to %u pixels per\n"
		   "frame, %llu MiB of address space, %u CPU seconds, %llu MiB of input.\n",
		HV_IMAGE_MAX_PIXELS, HV_IMAGEDECODER_MAX_MEMORY >> 20, HV_IMAGEDECODER_CPU_SECONDS,
		HV_IMAGEDECODER_MAX_INPUT >> 20);
}

/* Lower one limit to `want`, unless it already holds: under SystemServer
 * the definition's Limit*= keys set them before exec, and a service started
 * with a Pledge= lacking "proc" may read its limits but not set them. */
static int limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit cur, want = {soft, hard};
	if (getrlimit(resource, &cur) == 0 && cur.rlim_cur <= soft && cur.rlim_max <= hard)
		return 0;
	return setrlimit(resource, &want) < 0 ? -errno : 0;
}

static int set_limits(const hv_imagedecoder_config *cfg)
{
	int r;
	/* Not RLIMIT_FSIZE: it also caps the memfds that carry bitmaps. */
	if ((r = limit(RLIMIT_CPU, cfg->cpu_seconds, cfg->cpu_seconds + 1)) < 0 ||
	    (r = limit(RLIMIT_CORE, 0, 0)) < 0)
		return hv_log_errno(r, "Failed to set resource limits");
#ifndef UNDER_ASAN
	/* ASan reserves terabytes of shadow address space; under it only the
	 * pixel limits bound memory. */
	if ((r = limit(RLIMIT_AS, cfg->max_memory, cfg->max_memory)) < 0)
		return hv_log_errno(r, "Failed to set RLIMIT_AS");
#endif
	return 0;
}

static void on_term(hv_loop *loop, int signo, void *userdata) { hv_loop_quit(loop, 0); }

static int parse_mib(const char *s, uint64_t *out)
{
	uint64_t v;
	int r = hv_parse_u64(s, 1u << 20, &v);
	*out = v << 20;
	return r < 0 || v == 0 ? -EINVAL : 0;
}

int main(int argc, char **argv)
{
	static hv_imagedecoder_config cfg = {
		.max_pixels = HV_IMAGE_MAX_PIXELS,
		.max_total_pixels = HV_IMAGE_MAX_TOTAL_PIXELS,
		.max_input = HV_IMAGEDECODER_MAX_INPUT,
		.max_memory = HV_IMAGEDECODER_MAX_MEMORY,
		.cpu_seconds = HV_IMAGEDECODER_CPU_SECONDS,
	};
	const char *socket_path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;
		int r = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--debug-hooks")) {
			cfg.debug_hooks = true;
			continue;
		} else if (!v) {
			r = -EINVAL;
		} else if (!strcmp(a, "--socket")) {
			socket_path = v;
		} else if (!strcmp(a, "--max-pixels")) {
			r = hv_parse_u64(v, (uint64_t)HV_IMAGE_MAX_DIMENSION * HV_IMAGE_MAX_DIMENSION, &n);
			cfg.max_pixels = n;
			cfg.max_total_pixels = HV_MAX(n, cfg.max_total_pixels);
			r = r < 0 || n == 0 ? -EINVAL : 0;
		} else if (!strcmp(a, "--max-memory")) {
			r = parse_mib(v, &cfg.max_memory);
		} else if (!strcmp(a, "--max-input")) {
			r = parse_mib(v, &cfg.max_input);
		} else if (!strcmp(a, "--cpu-seconds")) {
			r = hv_parse_u64(v, 86400, &n);
			cfg.cpu_seconds = (uint32_t)n;
			r = r < 0 || n == 0 ? -EINVAL : 0;
		} else {
			r = -EINVAL;
		}
		if (r < 0) {
			fprintf(stderr, "ImageDecoder: bad argument: %s%s%s\n", a, v ? " " : "", v ? v : "");
			usage(stderr);
			return 2;
		}
		i++;
	}

	hv_loop *loop = NULL;
	hv_server *srv = NULL;
	int r;
	/* One malloc arena, fixed thresholds: the worker thread's own arena
	 * would reserve 64 MiB of the RLIMIT_AS budget, and trimming it makes
	 * glibc open /proc/sys/vm/overcommit_memory (shrink_heap), which the
	 * sandbox kills. Blocks from 256 KiB (frames) get their own mapping. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	/* lcms2 stamps the profiles it builds with gmtime(), whose first call
	 * loads /etc/localtime: load it now, while files may be opened. */
	tzset();
	if ((r = set_limits(&cfg)) < 0)
		return 1;
	if ((r = hv_loop_new(&loop)) < 0)
		return hv_log_errno(r, "Failed to create the event loop"), 1;
	if ((r = hv_loop_add_signal(loop, SIGTERM, on_term, NULL, NULL)) < 0 ||
	    (r = hv_server_new(loop, &image_decoder_server_endpoint, &hv_imagedecoder_handlers, &srv)) < 0)
		return hv_log_errno(r, "Failed to set up"), 1;
	/* One client per process: a second connection is refused, and the
	 * process ends with its client. */
	hv_server_set_max_connections(srv, 1);
	hv_server_set_exit_when_idle(srv, true);
	hv_imagedecoder_track(srv);
	/* SystemServer names the connection both in LISTEN_FDS and in
	 * SOCKET_TAKEOVER; lib/ipc would adopt fd 3 twice. Keep the first. */
	if (getenv("LISTEN_FDS"))
		unsetenv("SOCKET_TAKEOVER");
	if ((r = hv_server_start(srv, argc, argv)) < 0)
		return 1;

	/* Before any input: no filesystem view at all (an empty Landlock
	 * ruleset, locked before the worker thread exists so it covers it),
	 * then only the connection's I/O and fd passing for the buffers.
	 * --socket (by hand) must still accept its one client. */
	hv_sandbox_spec view = {.unveils = (const char *const[]){NULL}};
	if ((r = hv_sandbox_apply(&view)) < 0)
		return hv_log_errno(r, "Failed to drop the filesystem view"), 1;
	if ((r = hv_imagedecoder_init(loop, &cfg)) < 0)
		return 1;
	if ((r = hv_pledge(socket_path ? "stdio recvfd sendfd accept" : "stdio recvfd sendfd", NULL)) < 0)
		return hv_log_errno(r, "Failed to pledge"), 1;

	r = hv_loop_run(loop);
	/* The worker may still be decoding for the client that left: end the
	 * process without tearing down what it could touch. */
	hv_server_free(srv);
	fflush(NULL);
	_exit(r < 0 ? 1 : 0);
}
