/* CrashDaemon — every crash caught, unwound, stored compressed and
 * deduplicated (docs/crashdaemon.md).
 *
 *   CrashDaemon [--socket PATH] [--store DIR] [--max-reports N] [--max-mb N]
 *   CrashDaemon --kernel [--store DIR] PID UID GID SIGNAL TIME EXE < core
 *
 * Session mode serves the crash handler of lib/core (haven/crash.h):
 * a crashing process waits while the daemon's tracer unwinds it. System
 * mode is the kernel's core_pattern pipe (`crash install-handler`). */
#include <string.h>

#include <haven/service.h>

#include "CrashDaemon.h"

static const char *crash_proc_dir = "/proc";

static const hv_service crashdaemon = {
	.name = "CrashDaemon",
	.summary = "Serves CrashDaemon.ipc: unwinds crashing processes and stores reports.\n"
		   "With --kernel first: the core_pattern pipe handler (system mode).",
	.endpoint = &crash_daemon_endpoint,
	.handlers = &crash_handlers,
	.options = (const hv_option[]){
		HV_OPT_STRING("store", "DIR", &crash_store_dir, "where reports are kept (default\n"
			      "$XDG_STATE_HOME/haven/CrashDaemon)"),
		HV_OPT_INT("max-reports", "N", &crash_max_reports, 1, 100000, "reports kept (100)"),
		HV_OPT_INT("max-mb", "N", &crash_max_mb, 1, 1 << 20, "MiB kept (1024)"),
		{0}},
	.setup = crash_setup, /* the store, and the tracer forked unsandboxed */
	.teardown = crash_teardown,
	/* /proc: a crashed process's command line when it cannot trace. */
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(crash_store_dir, "rwc"),
					   HV_UNVEIL(crash_proc_dir, "r"), {0}},
	.pledge = "stdio rpath wpath cpath flock proc",
};

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--kernel"))
		return crash_kernel_main(argc, argv);
	return hv_service_main(&crashdaemon, argc, argv);
}
