/* syscall-inject.c — make a running process execute one system call, to
 * prove from outside that its sandbox refuses what it must refuse.
 *
 *   syscall-inject PID open PATH     openat(AT_FDCWD, PATH, O_RDONLY)
 *   syscall-inject PID socket-inet   socket(AF_INET, SOCK_STREAM, 0)
 *   syscall-inject PID exec PATH     execve(PATH, NULL, NULL)
 *
 * Prints one line: "result N" (the call's return: a negative errno, e.g.
 * -13 for Landlock's EACCES; an fd that it opened is closed again), or
 * "killed SIG" / "signal SIG" when the call ended the process or raised a
 * signal (seccomp). Exit 0 when it could say; 77 when this machine cannot
 * (not x86_64, ptrace refused: Yama, not root, not an ancestor); 1 on
 * failure; 2 on a usage error.
 *
 * How: PTRACE_SEIZE + PTRACE_INTERRUPT stop the process, most likely
 * blocked in a system call (epoll_wait), so the two bytes before its
 * instruction pointer are a `syscall` instruction. Its registers are saved,
 * the call is set up there (orig_rax = -1 so that the kernel does not
 * restart the interrupted call onto ours), run to its exit stop, and the
 * saved registers are put back before detaching: the interrupted call is
 * then restarted as after any signal. Strings go below the stack pointer,
 * past the red zone. Nothing is injected but the one call.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP 77

static void usage(FILE *f)
{
	fprintf(f, "Usage: syscall-inject PID open PATH | socket-inet | exec PATH\n"
		   "Make process PID run one system call; print its result or how it died.\n");
}

#if defined(__x86_64__)
/* Write a NUL-terminated string into the tracee at addr. */
static int poke_string(pid_t pid, uintptr_t addr, const char *s)
{
	size_t len = strlen(s) + 1;
	for (size_t off = 0; off < len; off += sizeof(long)) {
		long word = 0;
		memcpy(&word, s + off, len - off < sizeof word ? len - off : sizeof word);
		if (ptrace(PTRACE_POKEDATA, pid, (void *)(addr + off), (void *)word) < 0)
			return -errno;
	}
	return 0;
}

/* Whether sig is pending for pid (a trapping seccomp filter queues SIGSYS
 * and rolls the call back: its exit stop then shows the call's number). */
static bool signal_pending(pid_t pid, int sig)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool pending = false;
	while (fgets(line, sizeof line, f)) {
		unsigned long long mask;
		if ((sscanf(line, "SigPnd: %llx", &mask) == 1 || sscanf(line, "ShdPnd: %llx", &mask) == 1) &&
		    mask & (1ull << (sig - 1)))
			pending = true;
	}
	fclose(f);
	return pending;
}

/* Resume to the next syscall stop (or signal, or death): its wait status,
 * or -errno. */
static int step(pid_t pid)
{
	int st;
	if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0 || waitpid(pid, &st, __WALL) < 0)
		return -errno;
	return st;
}

/* What became of the tracee after PTRACE_SYSCALL from its entry stop.
 * Returns 1 with *ret set at the exit stop, 0 when it was reported as
 * killed or signalled (and it is no longer ours to restore), <0 on error. */
static int finish_call(pid_t pid, long long *ret)
{
	for (;;) {
		int st = step(pid);
		if (st < 0)
			return st;
		if (WIFSIGNALED(st)) {
			printf("killed %s\n", sigabbrev_np(WTERMSIG(st)) ?: "?");
			return 0;
		}
		if (WIFEXITED(st)) {
			printf("exited %d\n", WEXITSTATUS(st));
			return 0;
		}
		if (WSTOPSIG(st) == (SIGTRAP | 0x80)) {
			struct user_regs_struct r;
			if (ptrace(PTRACE_GETREGS, pid, 0, &r) < 0)
				return -errno;
			if (signal_pending(pid, SIGSYS)) {
				/* Refused by a trapping filter: the process takes the
				 * SIGSYS as it would have (its handler names the call). */
				printf("signal SIGSYS\n");
				ptrace(PTRACE_DETACH, pid, 0, 0);
				return 0;
			}
			*ret = (long long)r.rax;
			return 1;
		}
		if (st >> 16) /* a ptrace event stop (e.g. a later interrupt): go on */
			continue;
		/* A signal the call raised (SIGSYS from a trapping filter): let it
		 * be delivered as it would have been, and say so. */
		int sig = WSTOPSIG(st);
		printf("signal %s\n", sigabbrev_np(sig) ?: "?");
		ptrace(PTRACE_DETACH, pid, 0, (void *)(long)sig);
		return 0;
	}
}

/* Run nr(args) in the stopped tracee whose saved registers are *saved. */
static int inject(pid_t pid, const struct user_regs_struct *saved, long nr, const long args[6],
		  long long *ret)
{
	struct user_regs_struct r = *saved;
	r.rip = saved->rip - 2;
	r.orig_rax = (unsigned long long)-1;
	r.rax = (unsigned long long)nr;
	r.rdi = (unsigned long long)args[0];
	r.rsi = (unsigned long long)args[1];
	r.rdx = (unsigned long long)args[2];
	r.r10 = (unsigned long long)args[3];
	r.r8 = (unsigned long long)args[4];
	r.r9 = (unsigned long long)args[5];
	if (ptrace(PTRACE_SETREGS, pid, 0, &r) < 0)
		return -errno;
	/* To the entry stop of our call... */
	for (;;) {
		int st = step(pid);
		if (st < 0)
			return st;
		if (WIFSIGNALED(st) || WIFEXITED(st)) {
			printf("%s before the call\n", WIFEXITED(st) ? "exited" : "killed");
			return 0;
		}
		if (WSTOPSIG(st) == (SIGTRAP | 0x80))
			break;
		if (!(st >> 16)) {
			/* A signal arrived first: put the process back as it was and
			 * let it take the signal, unharmed; the caller tries again. */
			ptrace(PTRACE_SETREGS, pid, 0, saved);
			ptrace(PTRACE_DETACH, pid, 0, (void *)(long)WSTOPSIG(st));
			return -EAGAIN;
		}
	}
	/* ... then seccomp and the call itself. */
	return finish_call(pid, ret);
}

/* One attempt: 0 done (reported), -EAGAIN to try again (the process was
 * left as it was), else an exit code. */
static int attempt(pid_t pid, const char *what, const char *path)
{
	if (ptrace(PTRACE_SEIZE, pid, 0, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0) {
		fprintf(stderr, "syscall-inject: cannot trace %d: %m\n", (int)pid);
		return errno == EPERM ? SKIP : 1;
	}
	int st;
	if (ptrace(PTRACE_INTERRUPT, pid, 0, 0) < 0 || waitpid(pid, &st, __WALL) < 0) {
		fprintf(stderr, "syscall-inject: cannot stop %d: %m\n", (int)pid);
		return 1;
	}
	struct user_regs_struct saved;
	if (ptrace(PTRACE_GETREGS, pid, 0, &saved) < 0)
		return perror("syscall-inject: PTRACE_GETREGS"), 1;
	errno = 0;
	long insn = ptrace(PTRACE_PEEKTEXT, pid, (void *)(saved.rip - 2), 0);
	if (errno || (insn & 0xffff) != 0x050f) {
		/* Caught running, between two calls: let it go on, try again. */
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return -EAGAIN;
	}
	uintptr_t scratch = ((uintptr_t)saved.rsp - 4096) & ~(uintptr_t)15;
	long args[6] = {0}, nr;
	if (!strcmp(what, "open")) {
		nr = SYS_openat;
		args[0] = AT_FDCWD, args[1] = (long)scratch, args[2] = O_RDONLY | O_CLOEXEC;
	} else if (!strcmp(what, "exec")) {
		nr = SYS_execve;
		args[0] = (long)scratch;
	} else {
		nr = SYS_socket;
		args[0] = AF_INET, args[1] = SOCK_STREAM | SOCK_CLOEXEC;
	}
	if (path && poke_string(pid, scratch, path) < 0) {
		perror("syscall-inject: PTRACE_POKEDATA");
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 1;
	}
	long long ret = 0;
	int r = inject(pid, &saved, nr, args, &ret);
	if (r == -EAGAIN)
		return r;
	if (r < 0) {
		fprintf(stderr, "syscall-inject: %s\n", strerror(-r));
		ptrace(PTRACE_SETREGS, pid, 0, &saved);
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 1;
	}
	if (r == 0)
		return 0; /* reported: the process died or took a signal */
	printf("result %lld\n", ret);
	fflush(stdout);
	if (ret >= 0 && nr != SYS_execve) {
		/* It got an fd it should not have: do not leave it there. */
		long close_args[6] = {(long)ret};
		long long ignored;
		if (inject(pid, &saved, SYS_close, close_args, &ignored) <= 0)
			return 0;
	}
	if (ptrace(PTRACE_SETREGS, pid, 0, &saved) < 0 || ptrace(PTRACE_DETACH, pid, 0, 0) < 0) {
		perror("syscall-inject: restoring the process");
		return 1;
	}
	return 0;
}

static int run(pid_t pid, const char *what, const char *path)
{
	/* A busy process is seldom caught between calls; a few tries do. */
	for (int i = 0; i < 100; i++) {
		int r = attempt(pid, what, path);
		if (r != -EAGAIN)
			return r;
		usleep(20000);
	}
	fprintf(stderr, "syscall-inject: %d was never caught in a system call\n", (int)pid);
	return 1;
}
#else
static int run(pid_t pid, const char *what, const char *path)
{
	(void)pid, (void)what, (void)path;
	fprintf(stderr, "syscall-inject: only x86_64 is supported\n");
	return SKIP;
}
#endif

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	char *end;
	long pid = argc >= 3 ? strtol(argv[1], &end, 10) : 0;
	bool with_path = argc == 4 && (!strcmp(argv[2], "open") || !strcmp(argv[2], "exec"));
	bool bare = argc == 3 && !strcmp(argv[2], "socket-inet");
	if (pid <= 0 || *end || !(with_path || bare)) {
		usage(stderr);
		return 2;
	}
	return run((pid_t)pid, argv[2], with_path ? argv[3] : NULL);
}
