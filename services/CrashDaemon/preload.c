/* preload.c — libhaven-crash.so, what `crash run -- PROGRAM` preloads:
 * any program gets lib/core's crash handler (glibc 2.35 dropped
 * catchsegv's libSegFault.so; this takes its place). The daemon's socket
 * is HAVEN_CRASH_SOCKET (`crash run` sets it). Built from this file and
 * lib/core/crash.c alone, without sanitizers: it loads into any program. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/crash.h>

__attribute__((constructor)) static void crash_preload_init(void)
{
	const char *path = getenv(HV_CRASH_ENV_SOCKET);
	if (!path || !*path)
		return;
	int r = hv_crash_handler_install(path);
	if (r < 0)
		fprintf(stderr, "libhaven-crash: no crash reports: cannot reach CrashDaemon at %s: %s\n",
			path, strerror(-r));
	/* Children started with exec are not ours to watch unless they
	 * preload us too: they inherit the variable, so they do. */
}
