/* lib/sandbox/internal.h — what the files of lib/sandbox share: promise
 * bits, the filter compiler's options, the unveil lock. Not installed. */
#pragma once

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sanitizer builds (lib/sandbox itself compiled with ASan/UBSan, so the
 * programs it confines are too) add what the sanitizer runtime calls
 * before main() can narrow anything; see add_sanitizer() in filter.c and unveil_program() in exec.c. Meson defines
 * HV_SANITIZER_BUILD from b_sanitize; the compilers' own macros cover
 * builds made without it. */
#if !defined(HV_SANITIZER_BUILD)
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HV_SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define HV_SANITIZER_BUILD 1
#endif
#endif
#endif
#ifndef HV_SANITIZER_BUILD
#define HV_SANITIZER_BUILD 0
#endif

enum hv_promise_bit {
	HV_P_STDIO,
	HV_P_RPATH,
	HV_P_WPATH,
	HV_P_CPATH,
	HV_P_DPATH,
	HV_P_TMPPATH,
	HV_P_INET,
	HV_P_UNIX,
	HV_P_DNS,
	HV_P_FATTR,
	HV_P_CHOWN,
	HV_P_FLOCK,
	HV_P_GETPW,
	HV_P_SENDFD,
	HV_P_RECVFD,
	HV_P_PROC,
	HV_P_EXEC,
	HV_P_ID,
	HV_P_TTY,
	HV_P_THREAD,
	HV_P_PROTEXEC,
	HV_P_SIGACTION,
	HV_P_SETTIME,
	HV_P_BPF,
	HV_P_ACCEPT,
	HV_P_UEVENT,
	HV_P_UNVEIL,
	HV_P_NO_ERROR,
	HV_P__COUNT,
};

#define HV_P(x) (UINT64_C(1) << HV_P_##x)
#define HV_P_ALL ((UINT64_C(1) << HV_P__COUNT) - 1)

/* Parse "stdio rpath ..." (spaces/tabs/commas separate). NULL or "" → 0.
 * Unknown name → -EINVAL, logged with the name. */
int hv_promises_parse(const char *s, uint64_t *out);
/* "stdio rpath" for a mask, into buf (always terminated). */
void hv_promises_format(uint64_t mask, char *buf, size_t size);

struct hv_filter_opts {
	uint32_t deny_action;	/* SCMP_ACT_TRAP, _KILL_PROCESS, _ERRNO(EPERM), _NOTIFY */
	bool tsync;		/* apply to every thread */
	bool log;		/* SECCOMP_FILTER_FLAG_LOG (audit log of denials) */
	const void *exec_pin;	/* allow execve(exec_pin, ...) only, when no "exec" */
	int self_pid;		/* pid that stdio may signal (raise/abort) */
	uint32_t arch;		/* SCMP_ARCH_* to compile for (0: native); only
				   for exporting, never loaded */
};

/* Compile promises into a libseccomp context; caller releases it. Used to
 * export (readable PFC, other architectures); the filter that is loaded
 * comes from the same rules through hv_filter_load(). */
int hv_filter_build(uint64_t promises, const struct hv_filter_opts *o, scmp_filter_ctx *out);

/* The same rules as a plain list, for the direct BPF emitter: libseccomp's
 * own BPF generation costs ~1 ms per fresh process, this ~20 us. */
#define HV_RULE_ARGS_MAX 3 /* the compiler uses at most 2 */
struct hv_rule {
	int nr;			/* native syscall number */
	uint32_t action;	/* SCMP_ACT_* (the kernel's SECCOMP_RET_* values) */
	unsigned n;		/* argument checks, all must hold (0: unconditional) */
	uint8_t hot;		/* 1 = most frequent argument-checked call; 0: not */
	struct scmp_arg_cmp cmp[HV_RULE_ARGS_MAX];
};
struct hv_rules {
	scmp_filter_ctx ctx;	/* non-NULL: rules go to libseccomp instead */
	struct hv_rule *v;
	size_t n, cap;
};
/* Rules with o->arch's call numbers (0: native; another one only to
 * compare programs in tests: hv_filter_load() loads native rules). */
int hv_filter_rules(uint64_t promises, const struct hv_filter_opts *o, struct hv_rules *out);
void hv_rules_free(struct hv_rules *rules);
/* Send the seccomp listener fd over sock (SCM_RIGHTS, one byte); no
 * allocation: safe in a vfork child. 0 or a negative errno. */
int hv_sandbox_send_listener(int sock, int fd);

/* Classic BPF for seccomp, from a rule list (bpf.c): same decisions as
 * libseccomp's program for the same rules (tests/sandbox/test-bpf.c checks
 * that, call by call). -EOPNOTSUPP on an architecture it does not know. */
struct sock_filter;
struct hv_bpf {
	struct sock_filter *insns;
	size_t n;
};
int hv_bpf_compile(const struct hv_rules *rules, uint32_t deny_action, struct hv_bpf *out);
/* The same for audit_arch (AUDIT_ARCH_X86_64 or AUDIT_ARCH_AARCH64, which
 * are also SCMP_ARCH_*; 0: native), from rules of that architecture. */
int hv_bpf_compile_arch(const struct hv_rules *rules, uint32_t audit_arch, uint32_t deny_action,
			struct hv_bpf *out);
void hv_bpf_free(struct hv_bpf *prog);
/* Run a program as the kernel would, for the benchmark's path lengths:
 * the action, and in *steps how many instructions it took. Only the
 * opcodes the two compilers emit; UINT32_MAX for anything else. */
struct seccomp_data;
uint32_t hv_bpf_run(const struct sock_filter *insns, size_t n, const struct seccomp_data *d, unsigned *steps);
/* Compile and load promises (native). Sets no_new_privs. Returns 0, or the
 * listener fd when o->deny_action is SCMP_ACT_NOTIFY, or a negative errno
 * (-EBUSY: a listener already exists in this process tree). */
int hv_filter_load(uint64_t promises, const struct hv_filter_opts *o);

/* Enforce pending unveil rules (if any) and lock. Same returns as
 * hv_unveil(NULL, NULL). */
int hv_unveil_lock(void);
bool hv_unveil_locked(void);
/* Make the next lock enforce an empty ruleset (an explicit empty Unveil=). */
void hv_unveil_deny_all(void);
/* The pending unveil rules as a Landlock ruleset fd for another process
 * (hv_sandbox_prepare), without locking this one; the rules are then
 * forgotten. *out is -1 when nothing was unveiled. 0, HV_SANDBOX_DEGRADED
 * (logged) or a negative errno. */
int hv_internal_unveil_ruleset(int *out);
/* What apply_unveils adds for starting `path` (exec.c). */
int hv_internal_unveil_program(const char *path);

/* Used by exec.c and sandbox-run (declared in haven/sandbox.h's private
 * corner below). */
int hv_internal_exec_filter(const char *promises, const char *execpromises, bool debug, const char *path,
			    char *const envp[], char ***envp_out, uint32_t deny_action, int *notify_fd);

/* Syscall name for the SIGSYS log line (async-signal-safe after
 * hv_syscall_names_init()); NULL if unknown. */
void hv_syscall_names_init(void);
const char *hv_syscall_name(long nr);
/* Native number of a system call by name, -ENOENT if this architecture
 * has no such call (no libseccomp lookup: a generated table). */
int hv_syscall_nr(const char *name);

/* envp plus HAVEN_PLEDGE / HAVEN_EXECPLEDGE (NULL: left out), replacing
 * inherited ones. The array is malloc'd; the strings it adds are leaked on
 * purpose (only used right before exec). */
char **hv_env_with(char *const envp[], const char *pledge, const char *execpledge);
/* Does a filter in place refuse SIGSYS handlers (so a trapped violation
 * cannot be reported by a handler installed after exec)? */
bool hv_pledge_traps(void);
