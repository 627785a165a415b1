/* lib/sandbox/prepared.c — a sandbox compiled once and applied to many
 * children (haven/sandbox.h, "prepared sandboxes").
 *
 * hv_sandbox_exec() builds everything in each forked child: the promise
 * rules, the BPF program, the Landlock ruleset (a path opened per Unveil=
 * entry). A service manager starting the same definition again and again
 * can do that once: hv_sandbox_prepare() keeps the emitted program and a
 * Landlock ruleset fd, and hv_sandbox_exec_prepared() only makes the four
 * system calls that apply them (no allocation: it may run in a vfork-style
 * child on the manager's memory).
 *
 * One thing differs per child: the pid that "stdio" may signal (raise,
 * abort). The program is emitted twice with two impossible pids; the
 * instructions where the two differ are exactly the ones comparing with
 * it, and the child writes its own pid there before loading. If the two
 * differ anywhere else, preparation refuses (-EOPNOTSUPP) and the caller
 * uses hv_sandbox_exec().
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "haven/log.h"
#include "haven/sandbox.h"
#include "haven/util.h"
#include "internal.h"

/* Above any pid_max (2^22): never a real process. */
#define PID_A 0x3ffffff1u
#define PID_B 0x3ffffff2u
#define MAX_RELOCS 8

struct program {
	struct hv_bpf bpf;
	unsigned flags;	/* SECCOMP_FILTER_FLAG_* */
	size_t relocs[MAX_RELOCS];
	unsigned nrelocs;
};

struct hv_sandbox_prepared {
	const char *path;	/* the exec pin: the caller's string */
	bool filter;		/* Pledge= given */
	struct program prog;	/* its deny action as asked */
	struct program fallback; /* supervised: the same killing, for -EBUSY */
	int ruleset;		/* Landlock, -1: none */
	char *env_vars[3];	/* HAVEN_PLEDGE=, HAVEN_EXECPLEDGE=, NULL */
};

static void program_free(struct program *p)
{
	hv_bpf_free(&p->bpf);
}

void hv_sandbox_prepared_free(hv_sandbox_prepared *ps)
{
	if (!ps)
		return;
	program_free(&ps->prog);
	program_free(&ps->fallback);
	if (ps->ruleset >= 0)
		close(ps->ruleset);
	for (size_t i = 0; i < 2; i++)
		free(ps->env_vars[i]);
	free(ps);
}

HV_DEFINE_CLEANUP(hv_sandbox_prepared *, hv_sandbox_prepared_free)

static int emit(uint64_t mask, const struct hv_filter_opts *o, struct hv_bpf *out)
{
	struct hv_rules rules;
	int r = hv_filter_rules(mask, o, &rules);
	if (r < 0)
		return r;
	r = hv_bpf_compile(&rules, o->deny_action, out);
	hv_rules_free(&rules);
	return r;
}

/* The program for mask with the pid slots found (see the top). */
static int prepare_program(uint64_t mask, uint32_t deny, bool log, const char *path, struct program *out)
{
	struct hv_filter_opts o = {.deny_action = deny, .log = log, .exec_pin = path, .self_pid = (int)PID_A};
	struct hv_bpf b = {0};
	int r = emit(mask, &o, &out->bpf);
	if (r < 0)
		return r;
	o.self_pid = (int)PID_B;
	if ((r = emit(mask, &o, &b)) < 0)
		return r;
	if (b.n != out->bpf.n)
		r = -EOPNOTSUPP;
	for (size_t i = 0; r == 0 && i < b.n; i++) {
		const struct sock_filter *x = &out->bpf.insns[i], *y = &b.insns[i];
		if (!memcmp(x, y, sizeof(*x)))
			continue;
		if (x->code != y->code || x->jt != y->jt || x->jf != y->jf || x->k != PID_A || y->k != PID_B ||
		    out->nrelocs == MAX_RELOCS)
			r = -EOPNOTSUPP;
		else
			out->relocs[out->nrelocs++] = i;
	}
	hv_bpf_free(&b);
	if (r == -EOPNOTSUPP)
		hv_log_debug("sandbox: the program depends on the pid in more than its compares: not prepared");
	out->flags = (log ? SECCOMP_FILTER_FLAG_LOG : 0) | (deny == SCMP_ACT_NOTIFY ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
	return r;
}

/* The same choices as hv_internal_exec_filter() (pledge.c). */
static int prepare_filter(const hv_sandbox_spec *spec, const char *path, bool supervised, hv_sandbox_prepared *ps)
{
	uint64_t mask;
	int r = hv_promises_parse(spec->promises, &mask);
	if (r < 0)
		return r;
	char text[256];
	hv_promises_format(mask, text, sizeof(text));
	if (asprintf(&ps->env_vars[0], "HAVEN_PLEDGE=%s", text) < 0) {
		ps->env_vars[0] = NULL;
		return -ENOMEM;
	}
	uint32_t deny = supervised ? SCMP_ACT_NOTIFY : SCMP_ACT_KILL_PROCESS;
	if (deny == SCMP_ACT_NOTIFY && !(mask & HV_P(STDIO)))
		deny = SCMP_ACT_KILL_PROCESS;
	if ((spec->debug || (mask & HV_P(NO_ERROR))) && deny != SCMP_ACT_NOTIFY)
		deny = SCMP_ACT_ERRNO(EPERM);
	ps->filter = true;
	if ((r = prepare_program(mask, deny, spec->debug, path, &ps->prog)) < 0)
		return r;
	if (deny == SCMP_ACT_NOTIFY)
		r = prepare_program(mask, SCMP_ACT_KILL_PROCESS, spec->debug, path, &ps->fallback);
	return r;
}

/* Forget rules collected for a child that will not get them. */
static int forget_pending(int r)
{
	int rs = -1;
	hv_internal_unveil_ruleset(&rs);
	if (rs >= 0)
		close(rs);
	return r;
}

static int prepare_ruleset(const hv_sandbox_spec *spec, const char *path, hv_sandbox_prepared *ps)
{
	int r;
	if (!spec->unveils)
		return 0;
	/* A sanitized program needs its own /proc/PID unveiled (exec.c): a
	 * ruleset for every child then. */
	if (HV_SANITIZER_BUILD && !spec->bare_unveil)
		return -EOPNOTSUPP;
	if (!spec->bare_unveil && (r = hv_internal_unveil_program(path)) < 0)
		return forget_pending(r);
	hv_unveil_deny_all();
	for (const char *const *u = spec->unveils; *u; u++)
		if ((r = hv_unveil_spec(*u)) < 0)
			return forget_pending(r);
	r = hv_internal_unveil_ruleset(&ps->ruleset);
	return r == HV_SANDBOX_DEGRADED ? 0 : r;
}

int hv_sandbox_prepare(const hv_sandbox_spec *spec, const char *path, bool supervised, hv_sandbox_prepared **out)
{
	int r = hv_sandbox_spec_check(spec);
	if (r < 0)
		return r;
	if (hv_unveil_locked())
		return -EPERM; /* this process is unveiled itself: no collecting */
	_hv_cleanup_(hv_sandbox_prepared_freep) hv_sandbox_prepared *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	ps->ruleset = -1;
	ps->path = path;
	if (spec->promises && (r = prepare_filter(spec, path, supervised, ps)) < 0)
		return r;
	size_t k = spec->promises ? 1 : 0;
	if (spec->execpromises && asprintf(&ps->env_vars[k], "HAVEN_EXECPLEDGE=%s", spec->execpromises) < 0) {
		ps->env_vars[k] = NULL;
		return -ENOMEM;
	}
	if ((r = prepare_ruleset(spec, path, ps)) < 0)
		return r;
	*out = HV_TAKE_PTR(ps);
	return 0;
}

const char *const *hv_sandbox_prepared_env(const hv_sandbox_prepared *ps)
{
	return (const char *const *)ps->env_vars;
}

int hv_sandbox_prepared_ruleset(const hv_sandbox_prepared *ps)
{
	return ps->ruleset;
}

static long load(struct program *p)
{
	uint32_t pid = (uint32_t)syscall(SYS_getpid);
	for (unsigned i = 0; i < p->nrelocs; i++)
		p->bpf.insns[p->relocs[i]].k = pid;
	struct sock_fprog fprog = {.len = (unsigned short)p->bpf.n, .filter = p->bpf.insns};
	long k = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &fprog);
	return k < 0 ? -errno : k;
}

int hv_sandbox_exec_prepared(hv_sandbox_prepared *ps, int ruleset, char *const argv[], char *const envp[],
			     int notify_sock)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (ruleset >= 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		return -errno;
	if (ps->filter) {
		long k = load(&ps->prog);
		if (k == -EBUSY && ps->fallback.bpf.n) /* a supervisor above us already listens */
			k = load(&ps->fallback);
		else if (k >= 0 && (ps->prog.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER)) {
			int r = notify_sock >= 0 ? hv_sandbox_send_listener(notify_sock, (int)k) : 0;
			close((int)k);
			if (r < 0)
				return r;
		}
		if (k < 0)
			return (int)k;
	}
	execve(ps->path, argv, envp);
	return -errno;
}
