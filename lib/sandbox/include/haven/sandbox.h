/* haven/sandbox.h — pledge() and unveil() for Linux.
 *
 * hv_pledge() compiles OpenBSD/SerenityOS promise names ("stdio rpath inet")
 * into a seccomp-bpf filter (libseccomp; x86_64 and aarch64); hv_unveil()
 * collects path rules and enforces them with Landlock. Both only ever take
 * power away: the kernel keeps every filter and every Landlock layer for the
 * life of the process and across exec. See docs/sandbox.md for what each
 * promise allows and what seccomp cannot see.
 *
 * Every function returns 0 (or a documented positive status) on success and
 * a negative errno on failure, after a log line saying why.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* --- pledge ------------------------------------------------------------ */

/* Restrict this process (every thread, via TSYNC) to `promises`, a
 * space-separated list of promise names. Sets no_new_privs.
 *   promises == NULL      keep the current promises (only execpromises change)
 *   execpromises == NULL  keep the current execpromises (initially: none,
 *                         i.e. an exec'd program inherits this process's
 *                         filter, the most the kernel allows)
 * Narrowing only: naming a promise not held by an earlier call fails with
 * -EPERM (nothing is changed). Unknown names fail with -EINVAL.
 * Without the "unveil" promise, pending hv_unveil() rules are enforced and
 * unveil is locked first (as OpenBSD's pledge does).
 * A forbidden system call kills the process with SIGSYS after one log line
 * naming the call; in debug mode (hv_pledge_set_debug(true), the
 * HAVEN_SANDBOX_DEBUG=1 environment variable, or the "no_error"/"error"
 * promise) it fails with EPERM instead, also logged. */
int hv_pledge(const char *promises, const char *execpromises);

/* Debug mode: violations return -EPERM instead of killing. Applies to the
 * filters installed after the call (an installed filter cannot change). */
void hv_pledge_set_debug(bool on);

/* Check a promise string without applying it: 0, or -EINVAL after a log
 * line naming the unknown promise. */
int hv_pledge_check(const char *promises);

/* Write the filter `promises` compiles to, in libseccomp's readable
 * pseudo-code (PFC), to fd: to review what a promise set allows on this
 * architecture. Nothing is loaded. 0 or a negative errno. */
int hv_pledge_export(const char *promises, int fd);
/* The same for another architecture by libseccomp name ("aarch64",
 * "x86_64"): -EINVAL for an unknown one. */
int hv_pledge_export_arch(const char *promises, const char *arch, int fd);

/* exec with this process's execpromises: installs the execpromises filter
 * (so the new program starts with exactly that set, intersected with the
 * current promises, which the kernel keeps) and calls execve(). Returns only
 * on failure. Plain execve() keeps the current filter only. */
int hv_execve(const char *path, char *const argv[], char *const envp[]);

/* --- unveil ------------------------------------------------------------ */

/* Allow `path` (absolute, or relative to the cwd at the time of the call)
 * with `perms`, a subset of "rwxc":
 *   r read files and list directories   w write and truncate files
 *   x execute files                     c create, remove, rename, link
 * Rules accumulate; they are enforced together when unveil is locked with
 * hv_unveil(NULL, NULL) (or by hv_pledge() without "unveil"). After that
 * everything not unveiled is refused by the kernel (EACCES), and later
 * calls fail with -EPERM.
 * Returns 0 when fully enforced, HV_SANDBOX_DEGRADED (> 0) when the running
 * kernel's Landlock ABI could only enforce part of the rules (logged: what
 * is not enforced), -ENOSYS / -EOPNOTSUPP when Landlock is unavailable
 * (nothing enforced, logged), -ENOENT for a missing path, -EINVAL for bad
 * perms. */
int hv_unveil(const char *path, const char *perms);

#define HV_SANDBOX_DEGRADED 1

/* TCP port rules (Landlock ABI >= 4), enforced with the other rules at the
 * lock: perms "b" (bind) and/or "c" (connect). Once one is given, binding or
 * connecting TCP to any other port is refused (EACCES); without any, TCP is
 * left to pledge's promises. Older ABI: HV_SANDBOX_DEGRADED, logged. */
int hv_unveil_tcp(unsigned port, const char *perms);

/* "PATH:PERMS" form used by Unveil= and sandbox-run --unveil (the last ':'
 * splits), or "tcp:PORT:PERMS" for hv_unveil_tcp(). */
int hv_unveil_spec(const char *spec);

/* Landlock ABI of the running kernel (0 = unavailable). The environment
 * variable HAVEN_LANDLOCK_ABI_MAX=N caps it, to test degradation. */
int hv_landlock_abi(void);

/* --- for service managers (SystemServer's Pledge=, ExecPledge=, Unveil=) -- */

/* What a service starts with. Strings are borrowed. */
typedef struct hv_sandbox_spec {
	const char *promises;	       /* Pledge=: NULL = no seccomp filter */
	const char *execpromises;      /* ExecPledge=: for what the service execs */
	const char *const *unveils;    /* Unveil=: "PATH:PERMS", NULL-terminated;
					  NULL = no Landlock (filesystem as is) */
	bool debug;		       /* violations → EPERM instead of SIGSYS */
	bool bare_unveil;	       /* with unveils: do NOT add what starting the
					  program needs (see hv_sandbox_exec) */
} hv_sandbox_spec;

/* Validate a spec in the manager before forking (promise names, perms
 * syntax): 0 or -EINVAL with a log line. Paths are checked at apply time. */
int hv_sandbox_spec_check(const hv_sandbox_spec *spec);

/* In a forked child, just before exec: enforce the unveils (Landlock) —
 * plus, unless bare_unveil, what starting `path` needs: the executable and
 * its "#!" interpreter (rx), the system library directories /lib, /lib64,
 * /usr/lib, /usr/lib64, /usr/local/lib (rx: the loader is opened for exec)
 * and /etc/ld.so.cache (r) — set
 * no_new_privs, install the promises filter so that `path` starts with
 * exactly `promises`, and execve(path, argv, envp). The filter allows the
 * one execve that starts the program even without "exec". execpromises are
 * handed to the program in HAVEN_EXECPLEDGE (its hv_execve() applies them;
 * its filter never lets it exceed `promises`). Returns only on failure
 * (negative errno, logged). Not async-signal-safe (allocates): call it after
 * fork() from a process whose other threads do not hold the malloc lock
 * (glibc's fork() guarantees this for malloc). */
int hv_sandbox_exec(const hv_sandbox_spec *spec, const char *path, char *const argv[],
		    char *const envp[]);

/* The same without exec: apply spec to the calling process (all threads). */
int hv_sandbox_apply(const hv_sandbox_spec *spec);

/* --- prepared sandboxes (a service manager starting one definition often) -- */

/* What hv_sandbox_exec(spec, path, …) builds in every child, built once:
 * the emitted seccomp program (the exec pin is the pointer `path`: keep
 * that string alive and unchanged, and exec with it) and the Landlock
 * ruleset (every Unveil= path is opened now: one missing fails, -ENOENT;
 * a path replaced later is not seen until the next prepare). supervised:
 * as hv_sandbox_exec_supervised(). Call it in the manager, which must not
 * itself be unveiled. -EOPNOTSUPP where it cannot be prepared (a
 * sanitizer build with Unveil=): use hv_sandbox_exec() then. */
typedef struct hv_sandbox_prepared hv_sandbox_prepared;
int hv_sandbox_prepare(const hv_sandbox_spec *spec, const char *path, bool supervised,
		       hv_sandbox_prepared **out);
void hv_sandbox_prepared_free(hv_sandbox_prepared *ps);
/* The variables the program must find in its environment
 * ("HAVEN_PLEDGE=…", "HAVEN_EXECPLEDGE=…"), NULL-terminated: add them to
 * envp, and leave inherited HAVEN_PLEDGE* variables out. */
const char *const *hv_sandbox_prepared_env(const hv_sandbox_prepared *ps);
/* The Landlock ruleset fd (-1: none), which must stay open in the child
 * up to hv_sandbox_exec_prepared() (pass its number there). */
int hv_sandbox_prepared_ruleset(const hv_sandbox_prepared *ps);
/* In the child: no_new_privs, the ruleset (fd `ruleset`, -1: none), the
 * program with this process's pid in it, the listener sent over
 * notify_sock when supervised, then execve(path, argv, envp). Makes no
 * allocation and takes no lock: callable in a clone(CLONE_VM | CLONE_VFORK)
 * child. It writes the pid into ps (the manager's memory in such a child,
 * while the manager waits). Returns only on failure (negative errno, not
 * logged). */
int hv_sandbox_exec_prepared(hv_sandbox_prepared *ps, int ruleset, char *const argv[], char *const envp[],
			     int notify_sock);

/* --- supervised exec (sandbox-run; usable by any manager) ----------------- */

/* Like hv_sandbox_exec(), but a forbidden call is first reported to a
 * supervisor: the filter's deny action is a seccomp user notification and
 * its listener fd is sent over `sock` (SCM_RIGHTS, one byte 'L') before the
 * exec. If the promises lack stdio (no sendmsg to hand it over) it falls
 * back to killing with SIGSYS, and nothing is sent. The supervisor passes
 * each readable listener event to hv_sandbox_notify_handle(). If the
 * supervisor goes away, forbidden calls fail with ENOSYS (never allowed). */
int hv_sandbox_exec_supervised(const hv_sandbox_spec *spec, const char *path, char *const argv[],
			       char *const envp[], int sock);

/* Receive one listener fd sent by hv_sandbox_exec_supervised(): the fd,
 * -ENODATA when the child exec'd or died without sending one. */
int hv_sandbox_recv_listener(int sock);

/* Handle one notification: log "IDENT[pid]: pledge: system call NAME (NR)
 * is not allowed by "PROMISES"", then kill the caller with SIGSYS, or (debug)
 * make the call fail with EPERM. 0, or a negative errno (-ENOENT: the
 * caller died meanwhile, not an error for the supervisor). */
int hv_sandbox_notify_handle(int listener, const char *ident, const char *promises, bool debug);
