/* lib/sandbox/pledge.c — hv_pledge(): the process's promise state (narrowing
 * only), loading filters on every thread, the SIGSYS log line, and
 * hv_execve() for execpromises. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"
#include "internal.h"

/* Process-wide state. "Held" starts as everything; HAVEN_PLEDGE (set by
 * hv_sandbox_exec) says what a manager already took away before exec. */
static bool state_ready;
static uint64_t held = HV_P_ALL;
static bool exec_set;
static uint64_t exec_held = HV_P_ALL;
static bool debug_mode;
static char held_text[256] = "(unrestricted)";
/* A trapping filter without "sigaction" is in place (ours, or inherited
 * across exec: HAVEN_PLEDGE_TRAPS): installing a SIGSYS handler would
 * itself trap, so later filters kill in the kernel instead of reporting. */
static bool sigsys_refused;

static void state_init(void)
{
	if (state_ready)
		return;
	state_ready = true;
	const char *e = getenv("HAVEN_SANDBOX_DEBUG");
	if (e && *e && strcmp(e, "0") != 0)
		debug_mode = true;
	/* Trust HAVEN_PLEDGE only when a filter is really in place (a stale
	 * variable in an unconfined process would only cause false -EPERMs). */
	uint64_t m;
	bool filtered = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 2;
	if (filtered && (e = getenv("HAVEN_PLEDGE")) && hv_promises_parse(e, &m) == 0) {
		held = m;
		hv_promises_format(held, held_text, sizeof(held_text));
	}
	if (filtered && (e = getenv("HAVEN_PLEDGE_TRAPS")) && strcmp(e, "1") == 0)
		sigsys_refused = true;
	if ((e = getenv("HAVEN_EXECPLEDGE")) && hv_promises_parse(e, &m) == 0) {
		exec_held = m;
		exec_set = true;
	}
}

void hv_pledge_set_debug(bool on)
{
	state_init();
	debug_mode = on;
}

/* --- the violation log line ------------------------------------------- */

static void put(char *buf, size_t *n, size_t size, const char *s)
{
	while (*s && *n + 1 < size)
		buf[(*n)++] = *s++;
}

static void put_num(char *buf, size_t *n, size_t size, long v)
{
	char tmp[24];
	int i = 0;
	unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
	do
		tmp[i++] = (char)('0' + u % 10);
	while ((u /= 10) && i < 23);
	if (v < 0)
		tmp[i++] = '-';
	while (i > 0 && *n + 1 < size)
		buf[(*n)++] = tmp[--i];
}

/* Async-signal-safe: names were resolved before the first filter. */
static void sigsys_handler(int sig, siginfo_t *si, void *uc_)
{
	(void)uc_;
	char line[512];
	size_t n = 0;
	const char *name = hv_syscall_name(si->si_syscall);

	put(line, &n, sizeof(line), program_invocation_short_name);
	put(line, &n, sizeof(line), "[");
	put_num(line, &n, sizeof(line), getpid());
	put(line, &n, sizeof(line), "]: pledge: system call ");
	put(line, &n, sizeof(line), name ? name : "?");
	put(line, &n, sizeof(line), " (");
	put_num(line, &n, sizeof(line), si->si_syscall);
	put(line, &n, sizeof(line), ") is not allowed by \"");
	put(line, &n, sizeof(line), held_text);
	put(line, &n, sizeof(line), "\"; killed with SIGSYS\n");
	(void)!write(STDERR_FILENO, line, n);

	/* Die of SIGSYS. If resetting the handler is itself refused, the
	 * kernel forces the default action of the blocked SIGSYS: same end. */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigaction(sig, &dfl, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
	_exit(128 + sig);
}

static bool installed;

static int install_handler(void)
{
	if (installed)
		return 0;
	struct sigaction sa = {.sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO};
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return hv_log_errno(-errno, "pledge: failed to install the SIGSYS handler");
	installed = true;
	return 0;
}

/* --- hv_pledge --------------------------------------------------------- */

static int check_subset(uint64_t want, uint64_t have, const char *what)
{
	if ((want & ~have) == 0)
		return 0;
	char extra[256];
	hv_promises_format(want & ~have, extra, sizeof(extra));
	hv_log_error("pledge: %s \"%s\" not held: promises can only be dropped", what, extra);
	return -EPERM;
}

int hv_pledge(const char *promises, const char *execpromises)
{
	uint64_t want = held, exec_want = exec_held;
	int r;

	state_init();
	if (promises && (r = hv_promises_parse(promises, &want)) < 0)
		return r;
	if (execpromises && (r = hv_promises_parse(execpromises, &exec_want)) < 0)
		return r;
	if ((r = check_subset(want, held, "promise")) < 0)
		return r;
	if (execpromises && exec_set && (r = check_subset(exec_want, exec_held, "execpromise")) < 0)
		return r;
	/* The kernel keeps this process's filter across exec: an exec'd
	 * program can never hold more than we do. Say so rather than let the
	 * program die at its first call. */
	if (execpromises && (exec_want & ~want)) {
		char extra[256];
		hv_promises_format(exec_want & ~want, extra, sizeof(extra));
		hv_log_error("pledge: execpromises \"%s\" exceed promises (the filter survives exec)", extra);
		return -EPERM;
	}

	if (promises) {
		/* pledge without "unveil" ends unveil, as on OpenBSD. */
		if (!(want & HV_P(UNVEIL)) && !hv_unveil_locked()) {
			r = hv_unveil_lock();
			if (r < 0)
				return r;
		}
		hv_syscall_names_init();
		bool dbg = debug_mode || (want & HV_P(NO_ERROR));
		/* Exec'd by a pledged program: its filter refuses our reporter. */
		bool report = !dbg && (installed || !sigsys_refused);
		if (report && (r = install_handler()) < 0)
			return r;
		struct hv_filter_opts o = {
			.deny_action = dbg ? SCMP_ACT_ERRNO(EPERM) : report ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS,
			.tsync = true,
			.log = dbg,
			.self_pid = getpid(),
		};
		/* The log line names the promises: set it before the filter can fire. */
		char text[256], old_text[256];
		hv_promises_format(want, text, sizeof(text));
		memcpy(old_text, held_text, sizeof(old_text));
		memcpy(held_text, text, sizeof(text));
		if ((r = hv_filter_load(want, &o)) < 0) {
			memcpy(held_text, old_text, sizeof(old_text));
			return hv_log_errno(r, "pledge: failed to load the pledge filter");
		}
		held = want;
		if (o.deny_action == SCMP_ACT_TRAP && !(want & HV_P(SIGACTION)))
			sigsys_refused = true;
	}
	if (execpromises) {
		exec_held = exec_want;
		exec_set = true;
	}
	return 0;
}

int hv_pledge_export(const char *promises, int fd)
{
	return hv_pledge_export_arch(promises, NULL, fd);
}

int hv_pledge_export_arch(const char *promises, const char *arch, int fd)
{
	uint64_t mask;
	int r;

	if ((r = hv_promises_parse(promises, &mask)) < 0)
		return r;
	uint32_t token = 0;
	if (arch && !(token = seccomp_arch_resolve_name(arch))) {
		hv_log_error("pledge: unknown architecture \"%s\" (x86_64, aarch64, ...)", arch);
		return -EINVAL;
	}
	struct hv_filter_opts o = {.deny_action = SCMP_ACT_TRAP, .tsync = true, .self_pid = getpid(), .arch = token};
	scmp_filter_ctx ctx;
	if ((r = hv_filter_build(mask, &o, &ctx)) < 0)
		return r;
	r = seccomp_export_pfc(ctx, fd);
	seccomp_release(ctx);
	if (r < 0)
		return hv_log_errno(r, "pledge: failed to export the filter");
	return 0;
}

/* --- exec -------------------------------------------------------------- */

bool hv_pledge_traps(void)
{
	state_init();
	return sigsys_refused;
}

/* envp plus HAVEN_PLEDGE/HAVEN_EXECPLEDGE/HAVEN_PLEDGE_TRAPS (replacing
 * old values). */
char **hv_env_with(char *const envp[], const char *pledge, const char *execpledge)
{
	size_t n = 0;
	while (envp && envp[n])
		n++;
	_hv_free_ char **out = calloc(n + 4, sizeof(char *));
	_hv_free_ char *pledge_var = NULL, *execpledge_var = NULL;
	if (!out)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(envp[i], "HAVEN_PLEDGE=", 13) != 0 && strncmp(envp[i], "HAVEN_EXECPLEDGE=", 17) != 0 &&
		    strncmp(envp[i], "HAVEN_PLEDGE_TRAPS=", 19) != 0)
			out[k++] = envp[i];
	if (hv_pledge_traps())
		out[k++] = "HAVEN_PLEDGE_TRAPS=1";
	if ((pledge && asprintf(&pledge_var, "HAVEN_PLEDGE=%s", pledge) < 0) ||
	    (execpledge && asprintf(&execpledge_var, "HAVEN_EXECPLEDGE=%s", execpledge) < 0))
		return NULL;
	/* The two strings live as long as the returned array (its callers
	 * exec or exit with it). */
	if (pledge_var)
		out[k++] = HV_TAKE_PTR(pledge_var);
	if (execpledge_var)
		out[k++] = HV_TAKE_PTR(execpledge_var);
	out[k] = NULL;
	return HV_TAKE_PTR(out);
}

/* Install the filter an exec'd program starts with (on this thread only:
 * exec replaces the whole process) and compute its environment. */
int hv_internal_exec_filter(const char *promises, const char *execpromises, bool debug, const char *path,
			    char *const envp[], char ***envp_out, uint32_t deny_action, int *notify_fd)
{
	uint64_t mask;
	int r;

	if ((r = hv_promises_parse(promises, &mask)) < 0)
		return r;
	if (execpromises && (r = hv_pledge_check(execpromises)) < 0)
		return r;
	char text[256];
	hv_promises_format(mask, text, sizeof(text));
	char **env = hv_env_with(envp, text, execpromises);
	if (!env)
		return hv_log_errno(-ENOMEM, "pledge: failed to build the environment");
	/* A supervisor (notify) reports and decides itself; without one, a
	 * listener needs sendmsg to be handed over, which only stdio has. */
	if (deny_action == SCMP_ACT_NOTIFY && !(mask & HV_P(STDIO)))
		deny_action = SCMP_ACT_KILL_PROCESS;
	if ((debug || (mask & HV_P(NO_ERROR))) && deny_action != SCMP_ACT_NOTIFY)
		deny_action = SCMP_ACT_ERRNO(EPERM);
	struct hv_filter_opts o = {
		.deny_action = deny_action,
		.tsync = false,
		.log = debug,
		.exec_pin = path,
		.self_pid = getpid(),
	};
	r = hv_filter_load(mask, &o);
	if (r == -EBUSY && deny_action == SCMP_ACT_NOTIFY) {
		/* Already under a supervised filter (sandbox-run in sandbox-run):
		 * one listener per process tree, so kill in the kernel instead. */
		o.deny_action = deny_action = SCMP_ACT_KILL_PROCESS;
		r = hv_filter_load(mask, &o);
	}
	if (r < 0) {
		free(env);
		return hv_log_errno(r, "pledge: failed to load the exec filter");
	}
	if (notify_fd)
		*notify_fd = deny_action == SCMP_ACT_NOTIFY ? r : -1;
	else if (deny_action == SCMP_ACT_NOTIFY)
		close(r);
	*envp_out = env;
	return 0;
}

int hv_execve(const char *path, char *const argv[], char *const envp[])
{
	char **env = NULL;
	int r;

	state_init();
	if (exec_set) {
		char text[256];
		hv_promises_format(exec_held, text, sizeof(text));
		r = hv_internal_exec_filter(text, NULL, debug_mode, path, envp, &env, SCMP_ACT_KILL_PROCESS,
					    NULL);
		if (r < 0)
			return r;
		envp = env;
	} else if (sigsys_refused) {
		/* No new filter, but the program must still learn what it holds
		 * and that our filter refuses its SIGSYS reporter. */
		char text[256];
		hv_promises_format(held, text, sizeof(text));
		if (!(env = hv_env_with(envp, text, NULL)))
			return hv_log_errno(-ENOMEM, "pledge: failed to build the environment");
		envp = env;
	}
	execve(path, argv, envp);
	r = -errno;
	free(env);
	return hv_log_errno(r, "Failed to execute %s", path);
}
