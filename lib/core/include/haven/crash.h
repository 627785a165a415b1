/* haven/crash.h — hand a crashing process to CrashDaemon (docs/crashdaemon.md).
 *
 * hv_crash_handler_install() connects to CrashDaemon now, while the process
 * is healthy, and installs a handler for the fatal signals (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT, SIGTRAP) on an alternate signal stack, so a stack
 * overflow is caught too. On a crash the handler, without allocating or
 * taking a lock, sends CrashDaemon the signal, its code, the fault address,
 * the crashing thread and its registers, then waits (at most
 * HV_CRASH_WAIT_MS) while the daemon attaches with ptrace and unwinds every
 * thread of the still-alive process; then the signal's default action ends
 * the process as it would have without the handler (a core if enabled).
 *
 * The message is CrashDaemon.ipc's `crashed` request, framed as
 * docs/ipc-wire-format.md says: lib/core cannot use the IPC runtime (it is
 * built on lib/core), and the frame must be built without allocating. The
 * daemon decodes it with ipcc's generated code, so a drift fails its tests.
 *
 * Only the installing thread gets the alternate stack (sigaltstack is per
 * thread): a stack overflow in another thread dies without a report. */
#pragma once

/* How long a crashing process waits for the daemon's answer. */
#define HV_CRASH_WAIT_MS 30000
/* The environment variable that turns the handler off in a Haven service
 * ("0", "no", "off", "false") — or on ("yes") in one its manager already
 * confined (a definition's Pledge=, which must then hold "unix": the
 * runner cannot tell, and a socket() outside it is fatal) — and the one
 * naming the daemon's socket. */
#define HV_CRASH_ENV_ENABLE "HAVEN_CRASH_HANDLER"
#define HV_CRASH_ENV_SOCKET "HAVEN_CRASH_SOCKET"
/* CrashDaemon's portal name (hv_portal_path) when HAVEN_CRASH_SOCKET is unset. */
#define HV_CRASH_PORTAL "crash"

/* Connect to the daemon listening at socket_path and install the handler;
 * allows the daemon (its pid from SO_PEERCRED) to ptrace this process
 * (PR_SET_PTRACER, PR_SET_DUMPABLE; not when already under seccomp).
 * It needs socket/connect (pledge "unix") and, on a crash, "stdio".
 * Calling it again replaces the connection. Returns 0 or a negative errno
 * (nothing is installed then). */
int hv_crash_handler_install(const char *socket_path);
/* Restore the previous dispositions and close the connection. */
void hv_crash_handler_uninstall(void);
/* The connection's fd (-1 without one): a runner that closes every fd it
 * does not know keeps this one. */
int hv_crash_handler_fd(void);
