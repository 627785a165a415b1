/* lib/core/crash.c — the crash handler (haven/crash.h).
 *
 * Everything the handler needs is made at install: the connection, the
 * alternate stack, the daemon's permission to trace us. The handler itself
 * only fills a frame on its (alternate) stack, writes it, polls and reads:
 * async-signal-safe calls, no allocation, no lock. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "haven/crash.h"
#include "haven/util.h"

/* CrashDaemon.ipc: endpoint "CrashDaemon", its first message `crashed`. */
#define CRASH_ENDPOINT "CrashDaemon"
#define CRASH_MSG_ID 1
#define FRAME_HEADER 16
#define ALT_STACK_SIZE (64u * 1024)
#define MAX_REGS 64

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP};
static struct sigaction saved[HV_ARRAY_SIZE(fatal_signals)];
static int crash_fd = -1;
static uint32_t crash_magic;
static void *alt_stack;
static atomic_int crash_busy;

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The registers at the fault, as the kernel saved them for the handler. */
static size_t fill_registers(const void *ucv, uint8_t *out)
{
	const ucontext_t *uc = ucv;
	if (!uc)
		return 0;
#if defined(__x86_64__)
	memcpy(out, uc->uc_mcontext.gregs, sizeof(uc->uc_mcontext.gregs));
	return sizeof(uc->uc_mcontext.gregs);
#elif defined(__aarch64__)
	size_t n = sizeof(uc->uc_mcontext.regs);
	memcpy(out, uc->uc_mcontext.regs, n);
	memcpy(out + n, &uc->uc_mcontext.sp, 8);
	memcpy(out + n + 8, &uc->uc_mcontext.pc, 8);
	memcpy(out + n + 16, &uc->uc_mcontext.pstate, 8);
	return n + 24;
#else
	(void)out;
	return 0;
#endif
}

/* hv_write_full's loop, kept here: the preloadable handler is this file
 * alone (built without sanitizers, to load into any program). */
static bool write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read (and drop) `len` bytes before the deadline; false on EOF/error. */
static bool drain(int fd, size_t len, int64_t deadline)
{
	uint8_t buf[256];
	while (len > 0) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		ssize_t n = read(fd, buf, HV_MIN(len, sizeof(buf)));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		len -= (size_t)n;
	}
	return true;
}

/* Send the `crashed` request and wait for the daemon's reply (it replies
 * after it has unwound us and let go). */
static void tell_daemon(int signo, const siginfo_t *si, const void *uc)
{
	uint8_t frame[FRAME_HEADER + 28 + MAX_REGS * 8];
	uint8_t *p = frame + FRAME_HEADER;
	put_u32(p, (uint32_t)getpid());
	put_u32(p + 4, (uint32_t)syscall(SYS_gettid));
	put_u32(p + 8, (uint32_t)signo);
	put_u32(p + 12, (uint32_t)(si ? si->si_code : 0));
	put_u64(p + 16, si ? (uint64_t)(uintptr_t)si->si_addr : 0);
	size_t nregs = fill_registers(uc, p + 28);
	put_u32(p + 24, (uint32_t)nregs);
	size_t payload = 28 + nregs;
	put_u32(frame, (uint32_t)payload);
	put_u32(frame + 4, crash_magic);
	frame[8] = CRASH_MSG_ID & 0xff;
	frame[9] = CRASH_MSG_ID >> 8;
	frame[10] = 1; /* request */
	frame[11] = 0; /* no fds */
	put_u32(frame + 12, 1);
	if (!write_all(crash_fd, frame, FRAME_HEADER + payload))
		return;
	int64_t deadline = now_ms() + HV_CRASH_WAIT_MS;
	uint8_t hdr[FRAME_HEADER];
	size_t got = 0;
	while (got < sizeof(hdr)) {
		int64_t left = deadline - now_ms();
		struct pollfd pf = {.fd = crash_fd, .events = POLLIN};
		if (left <= 0 || (poll(&pf, 1, (int)left) < 0 && errno != EINTR))
			return;
		ssize_t n = read(crash_fd, hdr + got, sizeof(hdr) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		got += (size_t)n;
	}
	uint32_t len;
	memcpy(&len, hdr, 4);
	drain(crash_fd, len, deadline);
}

static void on_fatal(int signo, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	/* One report per process: a second thread crashing meanwhile waits
	 * for the first one's report to end the process. */
	if (atomic_exchange(&crash_busy, 1)) {
		for (;;)
			pause();
	}
	if (crash_fd >= 0)
		tell_daemon(signo, si, uc);
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigemptyset(&dfl.sa_mask);
	sigaction(signo, &dfl, NULL);
	/* A fault repeats when we return; a sent signal (abort(), kill) must
	 * be sent again. Blocked while we run, it is delivered on return. */
	if (!si || si->si_code <= 0)
		syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), signo);
	errno = saved_errno;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return h;
}

static int connect_daemon(const char *path, pid_t *daemon_pid)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		return -errno;
	*daemon_pid = cred.pid;
	return HV_TAKE_FD(fd);
}

int hv_crash_handler_install(const char *socket_path)
{
	if (!socket_path || !*socket_path)
		return -EINVAL;
	pid_t daemon_pid = 0;
	int fd = connect_daemon(socket_path, &daemon_pid);
	if (fd < 0)
		return fd;
	if (!alt_stack) {
		void *st = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (st == MAP_FAILED) {
			int r = -errno;
			close(fd);
			return r;
		}
		alt_stack = st;
	}
	stack_t ss = {.ss_sp = alt_stack, .ss_size = ALT_STACK_SIZE};
	if (sigaltstack(&ss, NULL) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	/* Yama (ptrace_scope 1) lets only an ancestor trace us without
	 * this; a process that changed its uid is not dumpable, which
	 * forbids tracing too. Both are best effort: without Yama the first
	 * fails, harmlessly. Under seccomp (a manager's Pledge=) neither is
	 * allowed, and PR_GET_SECCOMP always is. */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0) {
		/* Not under a pledge filter, which would kill us for these. */
		(void)prctl(PR_SET_PTRACER, (unsigned long)daemon_pid, 0, 0, 0);
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	}
	hv_crash_handler_uninstall();
	crash_magic = fnv1a(CRASH_ENDPOINT);
	crash_fd = fd;
	atomic_store(&crash_busy, 0);
	for (size_t i = 0; i < HV_ARRAY_SIZE(fatal_signals); i++) {
		struct sigaction sa = {.sa_sigaction = on_fatal,
				       .sa_flags = SA_SIGINFO | SA_ONSTACK};
		sigemptyset(&sa.sa_mask);
		sigaction(fatal_signals[i], &sa, &saved[i]);
	}
	return 0;
}

void hv_crash_handler_uninstall(void)
{
	if (crash_fd < 0)
		return;
	for (size_t i = 0; i < HV_ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &saved[i], NULL);
	hv_close(&crash_fd);
}

int hv_crash_handler_fd(void) { return crash_fd; }
