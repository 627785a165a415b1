/* CrashDaemon.h — what main.c needs from the rest of the service. */
#pragma once

#include <stdint.h>

#include <haven/ipc.h>

#include "CrashDaemon.ipc.h"

extern const crash_daemon_handlers crash_handlers;

/* Options (main.c's table) and the store path in use. */
extern const char *crash_store_dir;
extern int64_t crash_max_reports, crash_max_mb;

int crash_setup(hv_server *srv);
void crash_teardown(int exit_code);

/* System mode: `CrashDaemon --kernel [options] PID UID GID SIG TIME EXE`,
 * the core on stdin (kernel.c). Returns the exit code. */
int crash_kernel_main(int argc, char **argv);
