/* lib/sandbox/filter.c — the promise → seccomp-bpf compiler.
 *
 * A table says which promises grant each system call; calls whose safety
 * depends on an argument get rules built in code below. Rules on arguments
 * follow one principle so that no high-bit trick bypasses them: where the
 * kernel reads an argument as a 32-bit int, we only ever compare the low 32
 * bits (SCMP_CMP_MASKED_EQ with a mask below 2^32 ignores the high word,
 * exactly as the kernel does); 64-bit values (pointers, clone flags, prot)
 * are compared whole, or by bits the kernel reads the same way. Never "!=" or
 * ">" on a 32-bit argument: a value with high bits set would pass the filter
 * and be truncated by the kernel into the forbidden one.
 * Names unknown on the running architecture (open, fork, … on aarch64) are
 * skipped, so one table serves x86_64 and aarch64.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <linux/netlink.h>
#include <signal.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>

#include "haven/log.h"
#include "internal.h"

#define P(x) HV_P(x)
/* Who may open files for reading: the path promises, and dns/getpw, whose
 * libc code reads /etc (seccomp cannot see which path; unveil can). */
#define READERS (P(RPATH) | P(TMPPATH) | P(DNS) | P(GETPW))
#define PATHS (P(RPATH) | P(WPATH) | P(CPATH) | P(TMPPATH))
#define ALWAYS HV_P_ALL /* granted whatever the promises, even "" */

struct entry {
	const char *name;
	uint64_t promises;
};

/* Calls granted without argument checks. */
static const struct entry table[] = {
	/* Always: ending the process, returning from handlers, and narrowing
	 * further (seccomp and Landlock can only take power away). */
	{"exit", ALWAYS},
	{"exit_group", ALWAYS},
	{"rt_sigreturn", ALWAYS},
	{"restart_syscall", ALWAYS},
	{"seccomp", ALWAYS},
	{"landlock_create_ruleset", ALWAYS},
	{"landlock_add_rule", ALWAYS},
	{"landlock_restrict_self", ALWAYS},

	/* stdio: I/O on descriptors already held, memory, time, own identity. */
	{"read", P(STDIO)},
	{"write", P(STDIO)},
	{"readv", P(STDIO)},
	{"writev", P(STDIO)},
	{"pread64", P(STDIO)},
	{"pwrite64", P(STDIO)},
	{"preadv", P(STDIO)},
	{"pwritev", P(STDIO)},
	{"preadv2", P(STDIO)},
	{"pwritev2", P(STDIO)},
	{"close", P(STDIO)},
	{"close_range", P(STDIO)},
	{"dup", P(STDIO)},
	{"dup2", P(STDIO)},
	{"dup3", P(STDIO)},
	{"lseek", P(STDIO)},
	{"fstat", P(STDIO)},
	{"fstatfs", P(STDIO)},
	{"fsync", P(STDIO)},
	{"fdatasync", P(STDIO)},
	{"syncfs", P(STDIO)},
	{"ftruncate", P(STDIO)},
	{"fallocate", P(STDIO)},
	{"fadvise64", P(STDIO)},
	{"readahead", P(STDIO)},
	{"sync_file_range", P(STDIO)},
	{"fchdir", P(STDIO)},
	{"getdents", P(STDIO)},
	{"getdents64", P(STDIO)},
	{"sendfile", P(STDIO)},
	{"splice", P(STDIO)},
	{"tee", P(STDIO)},
	{"vmsplice", P(STDIO)},
	{"copy_file_range", P(STDIO)},
	{"getrandom", P(STDIO)},
	{"getpid", P(STDIO)},
	{"gettid", P(STDIO)},
	{"getppid", P(STDIO)},
	{"getuid", P(STDIO)},
	{"geteuid", P(STDIO)},
	{"getgid", P(STDIO)},
	{"getegid", P(STDIO)},
	{"getresuid", P(STDIO)},
	{"getresgid", P(STDIO)},
	{"getgroups", P(STDIO)},
	{"getpgid", P(STDIO)},
	{"getpgrp", P(STDIO)},
	{"getsid", P(STDIO)},
	{"capget", P(STDIO)},
	{"getrusage", P(STDIO)},
	{"getrlimit", P(STDIO)},
	{"times", P(STDIO)},
	{"uname", P(STDIO)},
	{"umask", P(STDIO)},
	{"sysinfo", P(STDIO)},
	{"getcpu", P(STDIO)},
	{"sched_yield", P(STDIO)},
	{"sched_getaffinity", P(STDIO)},
	{"sched_getparam", P(STDIO)},
	{"sched_getscheduler", P(STDIO)},
	{"sched_getattr", P(STDIO)},
	{"sched_get_priority_max", P(STDIO)},
	{"sched_get_priority_min", P(STDIO)},
	{"getitimer", P(STDIO)},
	{"setitimer", P(STDIO)},
	{"alarm", P(STDIO)},
	{"pause", P(STDIO)},
	{"nanosleep", P(STDIO)},
	{"clock_nanosleep", P(STDIO)},
	{"clock_gettime", P(STDIO)},
	{"clock_getres", P(STDIO)},
	{"gettimeofday", P(STDIO)},
	{"time", P(STDIO)},
	{"timer_create", P(STDIO)},
	{"timer_settime", P(STDIO)},
	{"timer_gettime", P(STDIO)},
	{"timer_getoverrun", P(STDIO)},
	{"timer_delete", P(STDIO)},
	{"timerfd_create", P(STDIO)},
	{"timerfd_settime", P(STDIO)},
	{"timerfd_gettime", P(STDIO)},
	{"brk", P(STDIO)},
	{"munmap", P(STDIO)},
	{"mremap", P(STDIO)},
	{"msync", P(STDIO)},
	{"mincore", P(STDIO)},
	{"madvise", P(STDIO)},
	{"mlock", P(STDIO)},
	{"mlock2", P(STDIO)},
	{"munlock", P(STDIO)},
	{"membarrier", P(STDIO)},
	{"memfd_create", P(STDIO)},
	{"pipe", P(STDIO)},
	{"pipe2", P(STDIO)},
	{"poll", P(STDIO)},
	{"ppoll", P(STDIO)},
	{"select", P(STDIO)},
	{"pselect6", P(STDIO)},
	{"epoll_create", P(STDIO)},
	{"epoll_create1", P(STDIO)},
	{"epoll_ctl", P(STDIO)},
	{"epoll_wait", P(STDIO)},
	{"epoll_pwait", P(STDIO)},
	{"epoll_pwait2", P(STDIO)},
	{"eventfd", P(STDIO)},
	{"eventfd2", P(STDIO)},
	{"signalfd", P(STDIO)},
	{"signalfd4", P(STDIO)},
	{"rt_sigprocmask", P(STDIO)},
	{"rt_sigsuspend", P(STDIO)},
	{"rt_sigpending", P(STDIO)},
	{"rt_sigtimedwait", P(STDIO)},
	{"sigaltstack", P(STDIO)},
	{"wait4", P(STDIO)},
	{"waitid", P(STDIO)},
	{"futex", P(STDIO)},
	{"futex_waitv", P(STDIO)},
	{"set_robust_list", P(STDIO)},
	{"get_robust_list", P(STDIO)},
	{"set_tid_address", P(STDIO)},
	{"rseq", P(STDIO)},
	{"arch_prctl", P(STDIO)},
	/* Sockets already held (IPC). sendmsg/recvmsg carry fds too: seccomp
	 * cannot read the msghdr, so sendfd/recvfd cannot be told apart. */
	{"recvfrom", P(STDIO)},
	{"recvmsg", P(STDIO)},
	{"recvmmsg", P(STDIO)},
	{"sendmsg", P(STDIO)},
	{"sendmmsg", P(STDIO)},
	{"shutdown", P(STDIO)},
	{"getsockname", P(STDIO)},
	{"getpeername", P(STDIO)},
	{"getsockopt", P(STDIO)},

	/* Paths (which ones: unveil). open/openat are in add_open(). */
	{"stat", PATHS | P(DNS) | P(GETPW)},
	{"lstat", PATHS | P(DNS) | P(GETPW)},
	{"newfstatat", PATHS | P(DNS) | P(GETPW)},
	{"statx", PATHS | P(DNS) | P(GETPW)},
	{"access", PATHS | P(DNS) | P(GETPW)},
	{"faccessat", PATHS | P(DNS) | P(GETPW)},
	{"faccessat2", PATHS | P(DNS) | P(GETPW)},
	{"readlink", PATHS},
	{"readlinkat", PATHS},
	{"getcwd", PATHS},
	{"chdir", P(RPATH)},
	{"statfs", P(RPATH)},
	{"getxattr", P(RPATH)},
	{"lgetxattr", P(RPATH)},
	{"fgetxattr", P(RPATH)},
	{"listxattr", P(RPATH)},
	{"llistxattr", P(RPATH)},
	{"flistxattr", P(RPATH)},
	{"inotify_init", P(RPATH)},
	{"inotify_init1", P(RPATH)},
	{"inotify_add_watch", P(RPATH)},
	{"inotify_rm_watch", P(RPATH)},
	{"truncate", P(WPATH)},
	{"mkdir", P(CPATH)},
	{"mkdirat", P(CPATH)},
	{"rmdir", P(CPATH)},
	{"unlink", P(CPATH) | P(TMPPATH)},
	{"unlinkat", P(CPATH) | P(TMPPATH)},
	{"rename", P(CPATH)},
	{"renameat", P(CPATH)},
	{"renameat2", P(CPATH)},
	{"link", P(CPATH)},
	{"linkat", P(CPATH)},
	{"symlink", P(CPATH)},
	{"symlinkat", P(CPATH)},
	{"mknod", P(DPATH)},
	{"mknodat", P(DPATH)},
	{"utime", P(FATTR)},
	{"utimes", P(FATTR)},
	{"utimensat", P(FATTR)},
	{"futimesat", P(FATTR)},
	{"setxattr", P(FATTR)},
	{"lsetxattr", P(FATTR)},
	{"fsetxattr", P(FATTR)},
	{"removexattr", P(FATTR)},
	{"lremovexattr", P(FATTR)},
	{"fremovexattr", P(FATTR)},
	{"chown", P(CHOWN)},
	{"fchown", P(CHOWN)},
	{"fchownat", P(CHOWN)},
	{"lchown", P(CHOWN)},
	{"flock", P(FLOCK)},

	/* Sockets: creating them is in add_socket(). */
	{"bind", P(INET) | P(UNIX) | P(UEVENT) | P(BPF)},
	{"listen", P(INET) | P(UNIX)},
	{"connect", P(INET) | P(UNIX) | P(DNS) | P(GETPW)},
	{"accept", P(INET) | P(UNIX) | P(ACCEPT)},
	{"accept4", P(INET) | P(UNIX) | P(ACCEPT)},
	{"setsockopt", P(INET) | P(UNIX) | P(DNS) | P(BPF)},

	/* proc: other processes. */
	{"fork", P(PROC)},
	{"vfork", P(PROC)},
	{"kill", P(PROC)},
	{"tkill", P(PROC)},
	{"tgkill", P(PROC)},
	{"pidfd_open", P(PROC)},
	{"pidfd_send_signal", P(PROC)},
	{"setsid", P(PROC)},
	{"setpgid", P(PROC)},
	{"setrlimit", P(PROC) | P(ID)},
	{"prlimit64", P(PROC) | P(ID)},
	{"getpriority", P(PROC) | P(ID)},
	{"setpriority", P(PROC) | P(ID)},
	{"sched_setaffinity", P(PROC)},
	{"sched_setparam", P(PROC)},
	{"sched_setscheduler", P(PROC)},
	{"sched_setattr", P(PROC)},
	{"rt_sigqueueinfo", P(PROC)},
	{"rt_tgsigqueueinfo", P(PROC)},
	{"ioprio_get", P(PROC)},
	{"ioprio_set", P(PROC)},

	{"execve", P(EXEC)},
	{"execveat", P(EXEC)},

	{"setuid", P(ID)},
	{"setgid", P(ID)},
	{"setreuid", P(ID)},
	{"setregid", P(ID)},
	{"setresuid", P(ID)},
	{"setresgid", P(ID)},
	{"setgroups", P(ID)},
	{"setfsuid", P(ID)},
	{"setfsgid", P(ID)},
	{"capset", P(ID)},

	{"settimeofday", P(SETTIME)},
	{"clock_settime", P(SETTIME)},
	{"clock_adjtime", P(SETTIME)},
	{"adjtimex", P(SETTIME)},

	{"mprotect", P(PROTEXEC)},
	{"pkey_mprotect", P(PROTEXEC)},
	{"mmap", P(PROTEXEC)},
	{"rt_sigaction", P(SIGACTION)},
};

/* ioctl requests: stdio gets what isatty() and non-blocking I/O need; tty
 * gets terminal control. TIOCSTI (type into a terminal) is never allowed. */
static const unsigned long ioctl_stdio[] = {TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX};
static const unsigned long ioctl_tty[] = {
	TCSETS, TCSETSW, TCSETSF, TIOCSWINSZ, TIOCGPGRP, TIOCSPGRP, TIOCGSID, TCFLSH, TCXONC,
	TCSBRK, TCSBRKP, TIOCOUTQ, TIOCEXCL, TIOCNXCL, TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK,
	TIOCSCTTY, TIOCNOTTY, TIOCGPTPEER, TIOCGEXCL,
};
static const unsigned fcntl_stdio[] = {
	F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL,
	F_GETPIPE_SZ, F_SETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS,
};
static const unsigned fcntl_flock[] = {F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW};
static const int prctl_stdio[] = {
	PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
	PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAPBSET_READ, PR_GET_KEEPCAPS, PR_GET_PDEATHSIG,
	PR_SET_VMA, PR_GET_TIMERSLACK, PR_GET_SECUREBITS,
};
static const int prctl_proc[] = {PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER};
static const int sockopt_stdio[] = {
	SO_RCVBUF, SO_SNDBUF, SO_PASSCRED, SO_KEEPALIVE, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD,
	SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW, SO_RCVLOWAT, SO_SNDLOWAT,
};

/* Compare the low 32 bits only: for arguments the kernel reads as int. */
#define LO32(arg, mask, val) SCMP_CMP((arg), SCMP_CMP_MASKED_EQ, (uint32_t)(mask), (uint32_t)(val))
#define EQ32(arg, val) LO32(arg, 0xffffffffu, (val))
#define EQ64(arg, val) SCMP_CMP((arg), SCMP_CMP_EQ, (uint64_t)(val), 0)

/* Architecture being compiled for (0: native). Set by hv_filter_build(),
 * which runs on one thread at a time like the rest of the library. */
static uint32_t target_arch;

/* The argument-checked calls a service makes most (strace -c of the
 * shipped services under load: fcntl and mmap at start-up and per
 * connection, ioctl(FIONREAD/FIONBIO), openat, sendto, fstat): the
 * emitter tests them first. Rank 1 is the most frequent; 0: not hot. */
static const char *const hot_calls[] = {"fcntl", "sendto", "ioctl", "openat", "mmap", "newfstatat", "mprotect"};

static uint8_t hot_rank(const char *name)
{
	for (size_t i = 0; i < sizeof(hot_calls) / sizeof(hot_calls[0]); i++)
		if (strcmp(name, hot_calls[i]) == 0)
			return (uint8_t)(i + 1);
	return 0;
}

static int add_rule(struct hv_rules *ctx, uint32_t action, const char *name, unsigned n,
		    const struct scmp_arg_cmp *cmp)
{
	/* libseccomp takes native numbers and translates them by name. */
	if (target_arch && seccomp_syscall_resolve_name_arch(target_arch, name) < 0)
		return 0; /* not a system call on the target architecture */
	int nr = ctx->ctx	  ? seccomp_syscall_resolve_name(name)
		 : target_arch ? seccomp_syscall_resolve_name_arch(target_arch, name)
			       : hv_syscall_nr(name);
	if (nr == __NR_SCMP_ERROR || nr < 0)
		return 0; /* not a system call on this architecture */
	if (!ctx->ctx) {
		/* Collected for the direct BPF emitter (bpf.c). */
		if (n > HV_RULE_ARGS_MAX)
			return hv_log_errno(-EINVAL, "pledge: too many argument checks for %s", name);
		if (ctx->n == ctx->cap) {
			size_t cap = ctx->cap ? ctx->cap * 2 : 512;
			struct hv_rule *v = realloc(ctx->v, cap * sizeof(*v));
			if (!v)
				return hv_log_errno(-ENOMEM, "pledge: failed to add a rule for %s", name);
			ctx->v = v;
			ctx->cap = cap;
		}
		struct hv_rule *rule = &ctx->v[ctx->n++];
		*rule = (struct hv_rule){.nr = nr, .action = action, .n = n, .hot = hot_rank(name)};
		if (n)
			memcpy(rule->cmp, cmp, n * sizeof(*cmp));
		return 0;
	}
	int r = seccomp_rule_add_exact_array(ctx->ctx, action, nr, n, cmp);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return hv_log_errno(r, "pledge: failed to add a rule for %s", name);
	return 0;
}

static int allow(struct hv_rules *ctx, const char *name, unsigned n, const struct scmp_arg_cmp *cmp)
{
	return add_rule(ctx, SCMP_ACT_ALLOW, name, n, cmp);
}

#define ALLOW0(ctx, name) allow((ctx), (name), 0, NULL)
#define ALLOWN(ctx, name, ...)                                                              \
	allow((ctx), (name), HV_ARRAY_N(__VA_ARGS__), (const struct scmp_arg_cmp[]){__VA_ARGS__})
#define HV_ARRAY_N(...) (sizeof((const struct scmp_arg_cmp[]){__VA_ARGS__}) / sizeof(struct scmp_arg_cmp))

/* Does a call already have an unconditional rule? Then argument rules
 * for it would be redundant (and libseccomp refuses some mixes). */
static bool granted(uint64_t promises, const char *name)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if ((table[i].promises & promises) && strcmp(table[i].name, name) == 0)
			return true;
	return false;
}

/* open/openat/creat: decided by access mode, O_CREAT, O_TRUNC, O_TMPFILE.
 * Every combination is listed explicitly (allow-list, masked compare). */
/* The kernel's __O_TMPFILE bit alone (glibc's __O_TMPFILE includes
 * O_DIRECTORY, which every opendir() sets). */
#define TMPFILE_BIT 020000000u

static int add_open(struct hv_rules *ctx, uint64_t p)
{
	const uint32_t mask = O_ACCMODE | O_CREAT | O_TRUNC | TMPFILE_BIT;
	const bool can_r = p & READERS, can_w = p & (P(WPATH) | P(TMPPATH));
	const bool can_c = p & (P(CPATH) | P(TMPPATH)), can_tmp = p & (P(CPATH) | P(TMPPATH));
	int r;

	for (unsigned acc = 0; acc <= 2; acc++)
		for (unsigned bits = 0; bits < 8; bits++) {
			bool creat = bits & 1, trunc = bits & 2, tmp = bits & 4;
			bool need_r = acc == O_RDONLY || acc == O_RDWR;
			bool need_w = acc != O_RDONLY || trunc || tmp;
			if ((need_r && !can_r) || (need_w && !can_w) || (creat && !can_c) ||
			    (tmp && (!can_tmp || acc == O_RDONLY)))
				continue;
			uint32_t v = acc | (creat ? O_CREAT : 0) | (trunc ? O_TRUNC : 0) |
				     (tmp ? TMPFILE_BIT : 0);
			if ((r = ALLOWN(ctx, "open", LO32(1, mask, v))) < 0 ||
			    (r = ALLOWN(ctx, "openat", LO32(2, mask, v))) < 0)
				return r;
		}
	/* O_PATH opens nothing for I/O (the kernel rejects it with O_CREAT
	 * and friends); hv_unveil() needs it to name paths. */
	if (p & P(STDIO)) {
		if ((r = ALLOWN(ctx, "open", LO32(1, O_PATH, O_PATH))) < 0 ||
		    (r = ALLOWN(ctx, "openat", LO32(2, O_PATH, O_PATH))) < 0)
			return r;
	}
	if (can_w && can_c && (r = ALLOW0(ctx, "creat")) < 0)
		return r;
	/* openat2 keeps its flags in struct open_how, which seccomp cannot
	 * read: allowed only where openat is allowed with every flag above
	 * (read, write, create, O_TMPFILE), so it grants nothing openat does
	 * not; elsewhere ENOSYS, and callers fall back to openat (whose flags
	 * are checked) or resolve by hand (WebServer). */
	if (can_r && can_w && can_c && can_tmp)
		return ALLOW0(ctx, "openat2");
	return add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "openat2", 0, NULL);
}

/* mmap/mprotect: executable memory only under prot_exec, except the
 * file-backed, non-writable mappings every dynamic loader makes. */
static int add_memory(struct hv_rules *ctx, uint64_t p)
{
	int r;

	if (p & P(PROTEXEC))
		return 0; /* table grants them whole */
	if (!(p & P(STDIO)))
		return 0;
	if ((r = ALLOWN(ctx, "mmap", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (r = ALLOWN(ctx, "mmap", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE, PROT_EXEC),
			SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_ANONYMOUS, 0))) < 0 ||
	    (r = ALLOWN(ctx, "mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0 ||
	    (r = ALLOWN(ctx, "pkey_mprotect", SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
		return r;
	return 0;
}

static int add_socket(struct hv_rules *ctx, uint64_t p)
{
	int r;

	if (p & P(STDIO) && (r = ALLOWN(ctx, "socketpair", EQ32(0, AF_UNIX))) < 0)
		return r;
	if (p & (P(UNIX) | P(GETPW)) && (r = ALLOWN(ctx, "socket", EQ32(0, AF_UNIX))) < 0)
		return r;
	if (p & P(INET)) {
		if ((r = ALLOWN(ctx, "socket", EQ32(0, AF_INET))) < 0 ||
		    (r = ALLOWN(ctx, "socket", EQ32(0, AF_INET6))) < 0)
			return r;
	} else if (p & P(DNS)) {
		/* A resolver: UDP, and TCP for truncated answers; no bind or listen. */
		static const int fams[] = {AF_INET, AF_INET6}, types[] = {SOCK_DGRAM, SOCK_STREAM};
		for (unsigned f = 0; f < 2; f++)
			for (unsigned t = 0; t < 2; t++)
				if ((r = ALLOWN(ctx, "socket", EQ32(0, fams[f]), LO32(1, 0xf, types[t]))) < 0)
					return r;
	}
	/* OpenBSD's "bpf" (dhclient's /dev/bpf): here packet sockets, whose
	 * filter and options are set with setsockopt, bound to a device. */
	if (p & P(BPF) && (r = ALLOWN(ctx, "socket", EQ32(0, AF_PACKET))) < 0)
		return r;
	/* getaddrinfo(AI_ADDRCONFIG) asks the kernel for interface addresses. */
	if (p & (P(INET) | P(DNS)) &&
	    (r = ALLOWN(ctx, "socket", EQ32(0, AF_NETLINK), EQ32(2, NETLINK_ROUTE))) < 0)
		return r;
	/* A device manager: the kernel's uevent socket (joining its group is a
	 * bind; a root's buffer large enough for bursts, SO_RCVBUFFORCE). */
	if (p & P(UEVENT) &&
	    ((r = ALLOWN(ctx, "socket", EQ32(0, AF_NETLINK), EQ32(2, NETLINK_KOBJECT_UEVENT))) < 0 ||
	     (r = ALLOWN(ctx, "setsockopt", EQ32(1, SOL_SOCKET), EQ32(2, SO_RCVBUFFORCE))) < 0))
		return r;
	if (p & P(STDIO) && !granted(p, "setsockopt"))
		for (size_t i = 0; i < sizeof(sockopt_stdio) / sizeof(sockopt_stdio[0]); i++)
			if ((r = ALLOWN(ctx, "setsockopt", EQ32(1, SOL_SOCKET), EQ32(2, sockopt_stdio[i]))) < 0)
				return r;
	/* sendto with an address needs a network promise; without, only on
	 * connected sockets (the address pointer must be NULL). */
	if (p & (P(INET) | P(UNIX) | P(DNS) | P(BPF)))
		r = ALLOW0(ctx, "sendto");
	else if (p & P(STDIO))
		r = ALLOWN(ctx, "sendto", EQ64(4, 0));
	else
		r = 0;
	return r;
}

static int add_list32(struct hv_rules *ctx, const char *name, unsigned arg, const unsigned long *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = ALLOWN(ctx, name, EQ32(arg, v[i]));
		if (r < 0)
			return r;
	}
	return 0;
}

static int add_control(struct hv_rules *ctx, uint64_t p, const struct hv_filter_opts *o)
{
	int r;

	if (p & P(STDIO)) {
		if ((r = add_list32(ctx, "ioctl", 1, ioctl_stdio, sizeof(ioctl_stdio) / sizeof(ioctl_stdio[0]))) < 0)
			return r;
		for (size_t i = 0; i < sizeof(fcntl_stdio) / sizeof(fcntl_stdio[0]); i++)
			if ((r = ALLOWN(ctx, "fcntl", EQ32(1, fcntl_stdio[i]))) < 0)
				return r;
	}
	if (p & P(TTY) &&
	    (r = add_list32(ctx, "ioctl", 1, ioctl_tty, sizeof(ioctl_tty) / sizeof(ioctl_tty[0]))) < 0)
		return r;
	if (p & P(FLOCK))
		for (size_t i = 0; i < sizeof(fcntl_flock) / sizeof(fcntl_flock[0]); i++)
			if ((r = ALLOWN(ctx, "fcntl", EQ32(1, fcntl_flock[i]))) < 0)
				return r;

	/* prctl: no_new_privs and seccomp always (narrowing); the rest by promise. */
	static const int prctl_always[] = {PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, PR_GET_SECCOMP};
	for (size_t i = 0; i < 3; i++)
		if ((r = ALLOWN(ctx, "prctl", EQ32(0, prctl_always[i]))) < 0)
			return r;
	if (p & P(STDIO))
		for (size_t i = 0; i < sizeof(prctl_stdio) / sizeof(prctl_stdio[0]); i++)
			if ((r = ALLOWN(ctx, "prctl", EQ32(0, prctl_stdio[i]))) < 0)
				return r;
	/* Reading one's own ambient set, like CAPBSET_READ: libcap-ng's
	 * constructor does it (linked by libpam through libaudit). */
	if ((p & P(STDIO)) &&
	    (r = ALLOWN(ctx, "prctl", EQ32(0, PR_CAP_AMBIENT), EQ32(1, PR_CAP_AMBIENT_IS_SET))) < 0)
		return r;
	if (p & P(PROC))
		for (size_t i = 0; i < sizeof(prctl_proc) / sizeof(prctl_proc[0]); i++)
			if ((r = ALLOWN(ctx, "prctl", EQ32(0, prctl_proc[i]))) < 0)
				return r;

	/* clone: threads under thread, processes under proc, namespaces never.
	 * The kernel reads the low 32 bits of the flags. clone3 passes them in
	 * memory we cannot read, so it fails with ENOSYS and libc falls back. */
	const uint32_t ns = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
			    CLONE_NEWNET | CLONE_NEWCGROUP;
	const uint32_t thr = CLONE_THREAD | CLONE_VM | CLONE_SIGHAND;
	if (p & P(THREAD) && (r = ALLOWN(ctx, "clone", LO32(0, ns | thr, thr))) < 0)
		return r;
	if (p & P(PROC) && (r = ALLOWN(ctx, "clone", LO32(0, ns | CLONE_THREAD, 0))) < 0)
		return r;
	if ((r = add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL)) < 0)
		return r;

	/* Signals to itself (raise, abort, pthread_kill) under stdio. */
	if (p & P(STDIO) && !(p & P(PROC)) && o->self_pid > 0) {
		if ((r = ALLOWN(ctx, "kill", EQ32(0, o->self_pid))) < 0 ||
		    (r = ALLOWN(ctx, "tgkill", EQ32(0, o->self_pid))) < 0)
			return r;
	}
	/* Reading its own limits (pid 0, no new limit). */
	if (p & P(STDIO) && !(p & (P(PROC) | P(ID))) &&
	    (r = ALLOWN(ctx, "prlimit64", EQ32(0, 0), EQ64(2, 0))) < 0)
		return r;

	/* Signal handlers, except for SIGSYS (a trapped violation must stay
	 * fatal) unless sigaction. "< SIGSYS" is safe as a 64-bit compare:
	 * high bits only make the value larger. Filters that kill or notify
	 * never raise SIGSYS, so there any handler is harmless (and a program
	 * started under one can install lib/sandbox's reporter). */
	if (p & P(STDIO) && !(p & P(SIGACTION)) && o->deny_action != SCMP_ACT_TRAP) {
		if ((r = ALLOW0(ctx, "rt_sigaction")) < 0)
			return r;
	} else if (p & P(STDIO) && !(p & P(SIGACTION))) {
		if ((r = ALLOWN(ctx, "rt_sigaction", SCMP_A0(SCMP_CMP_LT, SIGSYS, 0))) < 0 ||
		    (r = ALLOWN(ctx, "rt_sigaction", LO32(0, 0xffffffe0u, 32))) < 0 ||
		    (r = ALLOWN(ctx, "rt_sigaction", EQ32(0, 64))) < 0)
			return r;
	}

	/* glibc's fstat() is fstatat(fd, "", AT_EMPTY_PATH). The path is not
	 * visible to seccomp, so this also reveals other paths' metadata. */
	if (p & P(STDIO) && !(p & (PATHS | P(DNS) | P(GETPW)))) {
		if ((r = ALLOWN(ctx, "newfstatat", LO32(3, AT_EMPTY_PATH, AT_EMPTY_PATH))) < 0 ||
		    (r = ALLOWN(ctx, "statx", LO32(2, AT_EMPTY_PATH, AT_EMPTY_PATH))) < 0)
			return r;
	}

	/* chmod without set-id bits (mode is read as 16 bits). */
	if (p & P(FATTR)) {
		const uint32_t sid = S_ISUID | S_ISGID;
		if ((r = ALLOWN(ctx, "chmod", LO32(1, sid, 0))) < 0 ||
		    (r = ALLOWN(ctx, "fchmod", LO32(1, sid, 0))) < 0 ||
		    (r = ALLOWN(ctx, "fchmodat", LO32(2, sid, 0))) < 0)
			return r;
	}

	/* The one execve that starts the program, when exec is not promised. */
	if (o->exec_pin && !(p & P(EXEC)) && (r = ALLOWN(ctx, "execve", EQ64(0, (uintptr_t)o->exec_pin))) < 0)
		return r;
	return 0;
}

/* Sanitizer builds only, whatever the promises: ASan's start-up sets
 * RLIMIT_CORE on itself (disable_coredump, default on) with
 * prlimit64(0, RLIMIT_CORE, new, old) before main(); a program started
 * under Pledge= died of SIGSYS there. Nothing else runs before main()
 * (measured: sandbox-run --debug, strace). Not added: LeakSanitizer's exit
 * check (clone + ptrace: run with detect_leaks=0) and the read-only opens
 * of /proc/self/maps and /proc/self/exe an ASan report makes to name
 * modules (they stay under rpath; docs/sandbox.md). */
static int add_sanitizer(struct hv_rules *ctx)
{
	return ALLOWN(ctx, "prlimit64", EQ32(0, 0), EQ32(1, RLIMIT_CORE));
}

/* The rules of promise set p, into whichever back end ctx holds. */
static int add_all(struct hv_rules *ctx, uint64_t p, const struct hv_filter_opts *o)
{
	int r;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if ((table[i].promises == ALWAYS || (table[i].promises & p)) && (r = ALLOW0(ctx, table[i].name)) < 0)
			return r;
	if (HV_SANITIZER_BUILD && (r = add_sanitizer(ctx)) < 0)
		return r;
	if ((r = add_open(ctx, p)) < 0 || (r = add_memory(ctx, p)) < 0 || (r = add_socket(ctx, p)) < 0 ||
	    (r = add_control(ctx, p, o)) < 0)
		return r;
	return 0;
}

int hv_filter_rules(uint64_t p, const struct hv_filter_opts *o, struct hv_rules *out)
{
	*out = (struct hv_rules){0};
	/* Another architecture's numbers (from libseccomp's tables) only for
	 * tests/sandbox/test-bpf.c, which compares the emitter on aarch64
	 * too; what is loaded is always native. */
	target_arch = o->arch && o->arch != seccomp_arch_native() ? o->arch : 0;
	int r = add_all(out, p, o);
	if (r < 0) {
		hv_rules_free(out);
		return hv_log_errno(r, "pledge: failed to compile the filter");
	}
	return 0;
}

void hv_rules_free(struct hv_rules *rules)
{
	free(rules->v);
	*rules = (struct hv_rules){0};
}

/* The filter's attributes: the architecture asked for, another ABI
 * killed, no_new_privs, thread sync, libseccomp's binary-tree layout. */
static int filter_attrs(scmp_filter_ctx ctx, const struct hv_filter_opts *o)
{
	int r;
	target_arch = o->arch && o->arch != seccomp_arch_native() ? o->arch : 0;
	if (target_arch && ((r = seccomp_arch_add(ctx, target_arch)) < 0 ||
			    (r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)) < 0))
		return r;
	/* Another ABI (i386 via int 0x80, x32) is not what we checked: kill. */
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, o->tsync ? 1 : 0)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0)
		return r;
	if (o->log && (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)) < 0)
		return r;
	return 0;
}

int hv_filter_build(uint64_t p, const struct hv_filter_opts *o, scmp_filter_ctx *out)
{
	struct hv_rules sink = {.ctx = seccomp_init(o->deny_action)};
	scmp_filter_ctx ctx = sink.ctx;
	if (!ctx)
		return hv_log_errno(-ENOMEM, "pledge: failed to create a seccomp filter");
	int r = filter_attrs(ctx, o);
	if (r >= 0)
		r = add_all(&sink, p, o);
	if (r < 0) {
		seccomp_release(ctx);
		return hv_log_errno(r, "pledge: failed to compile the filter");
	}
	*out = ctx;
	return 0;
}
