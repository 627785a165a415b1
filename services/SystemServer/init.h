/* init.h — SystemServer as the init (PID 1, or `--init`): what the system
 * needs before any service (mounts, hostname, lo, the boot mode), reaping
 * orphans, the signals with init's meaning, the emergency shell, and the
 * end of a shutdown (shutdown.c). docs/systemserver.md, "As init".
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/loop.h>

#include "manager.h"

/* What ends a shutdown as init. */
enum ss_power { SS_POWER_NONE, SS_POWER_OFF, SS_POWER_REBOOT, SS_POWER_HALT };

/* "poweroff", "reboot", "halt": -EINVAL for anything else. */
int ss_power_parse(const char *s, enum ss_power *out);
const char *ss_power_name(enum ss_power a);

typedef struct ss_init_opts {
	bool init;		   /* --init, or we are PID 1 */
	const char *emergency_shell; /* --emergency-shell; "none": no shell */
	const char *on_sigterm;	   /* --on-sigterm: poweroff (default), reboot, halt */
} ss_init_opts;

/* haven.mode=NAME on a kernel command line: NAME copied to out (at most
 * size-1 bytes; the last one wins). -ENOENT when absent, -EINVAL when empty
 * or too long. */
int ss_init_mode_from_cmdline(const char *cmdline, char *out, size_t size);

/* As init, when not told otherwise: SIGTERM's action (-EINVAL for a bad
 * --on-sigterm). */
int ss_init_configure(const ss_init_opts *o);
bool ss_init_active(void);
/* A shutdown that ends with a (svc poweroff|reboot|halt, a signal).
 * -EOPNOTSUPP when not init. */
int ss_init_request(enum ss_power a);
/* The manager's loop is set up: reap orphans (every mode; outside PID 1 as
 * a child subreaper), and as init watch SIGPWR, SIGUSR1 (reload), SIGUSR2
 * (halt). Also the boot's time zero. */
int ss_init_watch(hv_loop *loop, ss_manager *m);
/* SIGTERM / SIGINT reached the manager: as init, the configured action
 * (SIGTERM) or a reboot (SIGINT: Ctrl-Alt-Del). */
void ss_init_on_stop_signal(int signo);
/* Microseconds since the boot's time zero (0 for t == 0). */
uint64_t ss_init_boot_us(uint64_t t_ns);

/* Boot, run the manager, end as init; never returns as PID 1. opts is
 * ss_run_opts (run.h). */
struct ss_run_opts;
int ss_init_main(struct ss_run_opts *opts);

/* shutdown.c: the end of a shutdown once the services are stopped: every
 * remaining process SIGTERMed then SIGKILLed, sync, unmount or read-only,
 * then reboot(2) (or, in a PID namespace, the documented exit). mounted:
 * what init mounted itself, in order. Returns only outside PID 1, with
 * the exit code. */
int ss_shutdown_final(enum ss_power a, int exit_code, const char *const *mounted, size_t nmounted);
/* Ask every remaining process (PID 1: all of the namespace; else our
 * children) to go, with sig. Returns how many were signalled. */
unsigned ss_kill_remaining(int sig);
/* Reap what exited among our children that pid_is_managed (may be NULL)
 * does not claim. Returns how many were reaped. */
unsigned ss_reap_orphans(bool (*pid_is_managed)(pid_t pid, void *ud), void *ud);
