/* process.c — ImageDecoder's process around its handlers: the option
 * values, the resource limits and allocator settings it needs before it
 * reads a byte of input, and how it ends (main.c's service hooks). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>

#include "ImageDecoder.h"
#include "image.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

img_config img_cfg = {
	.max_pixels = IMG_MAX_PIXELS,
	.max_total_pixels = IMG_MAX_TOTAL_PIXELS,
	.max_input = IMG_MAX_INPUT,
	.max_memory = IMG_MAX_MEMORY,
	.cpu_seconds = IMG_CPU_SECONDS,
};

int img_parse_mib(const char *arg, void *target)
{
	uint64_t v;
	int r = hv_parse_u64(arg, 1u << 20, &v);
	if (r < 0 || v == 0)
		return -EINVAL;
	*(uint64_t *)target = v << 20;
	return 0;
}

int img_parse_pixels(const char *arg, void *target)
{
	img_config *cfg = target;
	uint64_t n;
	int r = hv_parse_u64(arg, (uint64_t)IMG_MAX_DIMENSION * IMG_MAX_DIMENSION, &n);
	if (r < 0 || n == 0)
		return -EINVAL;
	cfg->max_pixels = n;
	cfg->max_total_pixels = HV_MAX(n, cfg->max_total_pixels);
	return 0;
}

int img_parse_seconds(const char *arg, void *target)
{
	uint64_t n;
	int r = hv_parse_u64(arg, 86400, &n);
	if (r < 0 || n == 0)
		return -EINVAL;
	*(uint32_t *)target = (uint32_t)n;
	return 0;
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

static int set_limits(const img_config *cfg)
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

int img_setup(hv_server *srv)
{
	/* One malloc arena, fixed thresholds: the worker thread's own arena
	 * would reserve 64 MiB of the RLIMIT_AS budget, and trimming it makes
	 * glibc open /proc/sys/vm/overcommit_memory (shrink_heap), which the
	 * sandbox kills. Blocks from 256 KiB (frames) get their own mapping. */
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 256 << 10);
	/* lcms2 stamps the profiles it builds with gmtime(), whose first call
	 * loads /etc/localtime: load it now, while files may be opened. */
	tzset();
	int r = set_limits(&img_cfg);
	if (r < 0)
		return r;
	/* SystemServer names the connection both in LISTEN_FDS and in
	 * SOCKET_TAKEOVER; lib/ipc would adopt fd 3 twice. Keep the first. */
	if (getenv("LISTEN_FDS"))
		unsetenv("SOCKET_TAKEOVER");
	return 0;
}

/* The worker thread starts after the filesystem view is gone, so it has
 * none either, and before the promises, which cover it too. */
int img_ready(hv_server *srv)
{
	return img_worker_start(hv_server_loop(srv), &img_cfg);
}

/* The worker may still be decoding for the client that left: end the
 * process without tearing down what it could touch. */
void img_teardown(int code)
{
	fflush(NULL);
	_exit(code);
}
