/* tests/sandbox/test-pledge.c — every promise, in real forked children:
 * an operation it allows runs, one it forbids kills with SIGSYS (the log
 * line names the call), or fails with EPERM in debug mode. Also argument
 * checks against high-bit tricks, other ABIs, narrowing, threads (TSYNC)
 * and execpromises. */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <termios.h>
#include <unistd.h>

#include "haven/sandbox.h"
#include "sandbox-test.h"

/* Resources made before any pledge (a sandboxed child cannot make them). */
static char file_path[128], helper[512];
static int file_fd = -1, listen_fd = -1, pty_slave = -1, pipe_w = -1;

#define HIGH (UINT64_C(1) << 32)
static int neg(long r)
{
	return r < 0 ? -errno : 0;
}

static int op_write(void) { return neg(write(pipe_w, "x", 1)); }
/* raw: sanitizer runtimes hook _exit() with calls of their own */
static int op_exit(void) { syscall(SYS_exit_group, 0); return 1; }
static int op_isatty(void) { return isatty(pty_slave) ? 0 : -ENOTTY; }
static int op_fstat(void) { struct stat st; return neg(fstat(file_fd, &st)); }
static int op_raise(void) { return neg(kill(getpid(), 0)); }
static int op_kill_parent(void) { return neg(kill(getppid(), 0)); }
static int op_open_r(void) { int fd = open(file_path, O_RDONLY | O_CLOEXEC); return fd < 0 ? -errno : (close(fd), 0); }
static int op_open_rtrunc(void) { int fd = open(file_path, O_RDONLY | O_TRUNC); return fd < 0 ? -errno : (close(fd), 0); }
static int op_open_w(void) { int fd = open(file_path, O_WRONLY | O_APPEND); return fd < 0 ? -errno : (close(fd), 0); }
static int op_open_rw(void) { int fd = open(file_path, O_RDWR); return fd < 0 ? -errno : (close(fd), 0); }
static int op_stat(void) { struct stat st; return neg(stat(file_path, &st)); }
static int op_opendir(void) { int fd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_NONBLOCK | O_CLOEXEC); return fd < 0 ? -errno : (close(fd), 0); }
static int op_create(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/new-%d", test_tmpdir(), getpid());
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : (close(fd), 0);
}
static int op_mkdir(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/dir-%d", test_tmpdir(), getpid());
	return neg(mkdir(p, 0700));
}
static int op_mkfifo(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/fifo-%d", test_tmpdir(), getpid());
	return neg(mkfifo(p, 0600));
}
static int op_tmpfile(void)
{
	char p[160];
	snprintf(p, sizeof(p), "%s/tmp-%d", test_tmpdir(), getpid());
	int fd = open(p, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return neg(unlink(p));
}
static int op_inet_stream(void) { int s = socket(AF_INET, SOCK_STREAM, 0); return s < 0 ? -errno : (close(s), 0); }
static int op_inet_listen(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0)
		return -errno;
	return close(s), 0;
}
/* A packet socket with a BPF filter, as DHCPClient opens it (EPERM
 * without CAP_NET_RAW is an answer, not a kill). */
static int op_packet(void)
{
	static struct sock_filter drop[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
	struct sock_fprog prog = {.len = 1, .filter = drop};
	int s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	setsockopt(s, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	return close(s), 0;
}
static int op_udp(void) { int s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0); return s < 0 ? -errno : (close(s), 0); }
static int op_udp_bind(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -errno;
	return close(s), 0;
}
/* The uevent socket, joined to the kernel's group (what DeviceMapper does). */
static int op_uevent(void)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (s < 0)
		return -errno;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
	int r = bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(s);
	return r;
}
static int op_netlink_route(void) { int s = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); return s < 0 ? -errno : (close(s), 0); }
static int op_unix(void) { int s = socket(AF_UNIX, SOCK_STREAM, 0); return s < 0 ? -errno : (close(s), 0); }
static int op_sendto_addr(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		return -errno;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/nobody-%d", test_tmpdir(), getpid());
	/* The kernel's own answer (no such socket) means the filter let it by. */
	if (sendto(sv[0], "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) < 0 && errno == EPERM)
		return -EPERM;
	return 0;
}
static int op_fchmod(void) { return neg(fchmod(file_fd, 0600)); }
static int op_fchmod_suid(void) { return neg(fchmod(file_fd, 04700)); }
static int op_fchown(void) { return neg(fchown(file_fd, (uid_t)-1, (gid_t)-1)); }
static int op_flock(void) { return neg(flock(file_fd, LOCK_SH)); }
static int op_fcntl_lock(void)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	return neg(fcntl(file_fd, F_SETLK, &fl));
}
static int op_getpw(void)
{
	errno = 0;
	struct passwd *pw = getpwuid(0);
	return pw ? 0 : errno ? -errno : -ENOENT;
}
static int op_pass_fd(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	char b = 'x';
	struct iovec iov = {&b, 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	memset(&u, 0, sizeof(u));
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_RIGHTS, c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &file_fd, sizeof(int));
	if (sendmsg(sv[0], &m, 0) < 0 || recvmsg(sv[1], &m, 0) < 0)
		return -errno;
	c = CMSG_FIRSTHDR(&m);
	return c && c->cmsg_type == SCM_RIGHTS ? 0 : -EBADMSG;
}
static int op_fork(void)
{
	pid_t p = fork();
	if (p < 0)
		return -errno;
	if (p == 0)
		_exit(0);
	int st;
	return waitpid(p, &st, 0) == p && WIFEXITED(st) ? 0 : -ECHILD;
}
static int op_exec(void)
{
	char *argv[] = {"true", NULL};
	execve("/bin/true", argv, (char *[]){NULL});
	return -errno;
}
static int op_setresuid(void) { return neg(syscall(SYS_setresuid, -1, -1, -1)); }
static int op_tcsetattr(void)
{
	struct termios t;
	if (tcgetattr(pty_slave, &t) < 0)
		return -errno;
	return neg(tcsetattr(pty_slave, TCSANOW, &t));
}
static int op_tiocsti(void) { char c = 0; return neg(ioctl(pty_slave, TIOCSTI, &c)); }
static void *thread_main(void *a) { return a; }
static int op_thread(void)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, thread_main, NULL);
	if (r)
		return -r;
	return -pthread_join(t, NULL);
}
static int op_mmap_anon_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? -errno : (munmap(p, 4096), 0);
}
static int op_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	return neg(mprotect(p, 4096, PROT_READ | PROT_EXEC));
}
static int op_mmap_file_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, file_fd, 0);
	return p == MAP_FAILED ? -errno : (munmap(p, 4096), 0);
}
static int op_mmap_file_wx(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE, file_fd, 0);
	return p == MAP_FAILED ? -errno : (munmap(p, 4096), 0);
}
static void on_sig(int s) { (void)s; }
static int op_sigaction_usr1(void) { struct sigaction sa = {.sa_handler = on_sig}; return neg(sigaction(SIGUSR1, &sa, NULL)); }
static int op_sigaction_sys(void) { struct sigaction sa = {.sa_handler = on_sig}; return neg(sigaction(SIGSYS, &sa, NULL)); }
/* Without CAP_SYS_TIME the kernel says EPERM itself: passing the filter
 * (not being killed) is what is tested. */
static int op_settime(void) { (void)syscall(SYS_settimeofday, NULL, NULL); return 0; }
static int op_accept(void)
{
	int s = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (s >= 0)
		return close(s), 0;
	return errno == EAGAIN ? 0 : -errno;
}
static int op_unveil_locked(void) { return hv_unveil(test_tmpdir(), "r") == -EPERM ? 0 : 1; }
static int op_unveil_open(void) { return hv_unveil(test_tmpdir(), "r"); }
/* Argument tricks: the kernel truncates int arguments to 32 bits. */
static int op_hi_socket_inet(void) { return neg(syscall(SYS_socket, HIGH | AF_INET, SOCK_STREAM, 0)); }
static int op_hi_socket_unix(void) { long s = syscall(SYS_socket, HIGH | AF_UNIX, SOCK_STREAM, 0); return s < 0 ? -errno : (close((int)s), 0); }
static int op_hi_tiocsti(void) { char c = 0; return neg(syscall(SYS_ioctl, pty_slave, HIGH | TIOCSTI, &c)); }
static int op_hi_fcntl_lock(void)
{
	struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
	return neg(syscall(SYS_fcntl, file_fd, HIGH | F_SETLK, &fl));
}
static int op_hi_sigaction_sys(void)
{
	/* kernel struct sigaction: handler, flags, restorer, mask */
	unsigned long act[4] = {(unsigned long)SIG_IGN, 0, 0, 0};
	return neg(syscall(SYS_rt_sigaction, HIGH | SIGSYS, act, NULL, 8));
}
static int op_hi_prctl(void) { return neg(syscall(SYS_prctl, HIGH | PR_SET_DUMPABLE, 1, 0, 0, 0)); }
/* The filter reads the same 32 bits as the kernel: no false denial either. */
static int op_hi_prctl_name(void) { return neg(syscall(SYS_prctl, HIGH | PR_SET_NAME, "hv-test", 0, 0, 0)); }
static int op_clone3(void) { return syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS ? 0 : 1; }
/* openat2's flags are out of the filter's sight: ENOSYS unless every
 * open flag is promised (then it is openat with a struct). */
static int openat2_write(void)
{
	struct open_how how = {.flags = O_RDWR | O_CREAT | O_CLOEXEC, .mode = 0600};
	char path[512];
	snprintf(path, sizeof(path), "%s/openat2", test_tmpdir());
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	return fd < 0 ? -errno : (close((int)fd), 0);
}
static int op_openat2_enosys(void) { return openat2_write() == -ENOSYS ? 0 : 1; }
static int op_openat2(void) { return openat2_write(); }
#if defined(__x86_64__)
static int op_x32(void) { return neg(syscall(0x40000000 | 39 /* x32 getpid */)); }
static int op_int80(void)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(20 /* i386 getpid */) : "memory");
	return r < 0 ? (int)r : 0;
}
#endif

enum expect { OK, KILLED };

struct tcase {
	const char *what;
	const char *promises;
	int (*op)(void);
	enum expect expect;
	const char *call; /* named in the log line when killed (NULL: unchecked) */
	bool debug;	  /* also run in debug mode: the op must fail with EPERM */
};

static const struct tcase cases[] = {
	{"stdio: write", "stdio", op_write, OK, NULL, false},
	{"empty promises: write", "", op_write, KILLED, NULL, false},
	{"empty promises: _exit", "", op_exit, OK, NULL, false},
	{"stdio: isatty", "stdio", op_isatty, OK, NULL, false},
	{"stdio: fstat", "stdio", op_fstat, OK, NULL, false},
	{"stdio: signal to itself", "stdio", op_raise, OK, NULL, false},
	{"stdio: signal to another", "stdio", op_kill_parent, KILLED, "kill", true},
	{"stdio: sendto with address", "stdio", op_sendto_addr, KILLED, "sendto", true},
	{"stdio: sigaction SIGUSR1", "stdio", op_sigaction_usr1, OK, NULL, false},
	{"rpath: open O_RDONLY", "stdio rpath", op_open_r, OK, NULL, false},
	{"rpath: opendir", "stdio rpath", op_opendir, OK, NULL, false},
	{"rpath: stat", "stdio rpath", op_stat, OK, NULL, false},
	{"no rpath: open O_RDONLY", "stdio", op_open_r, KILLED, "openat", true},
	{"no rpath: stat", "stdio", op_stat, KILLED, "newfstatat", true},
	{"rpath: O_RDONLY|O_TRUNC", "stdio rpath", op_open_rtrunc, KILLED, "openat", true},
	{"wpath: open O_WRONLY", "stdio wpath", op_open_w, OK, NULL, false},
	{"no wpath: open O_WRONLY", "stdio rpath", op_open_w, KILLED, "openat", true},
	{"wpath without rpath: O_RDWR", "stdio wpath", op_open_rw, KILLED, "openat", true},
	{"rpath wpath: O_RDWR", "stdio rpath wpath", op_open_rw, OK, NULL, false},
	{"cpath: O_CREAT", "stdio wpath cpath", op_create, OK, NULL, false},
	{"no cpath: O_CREAT", "stdio rpath wpath", op_create, KILLED, "openat", true},
	{"cpath: mkdir", "stdio cpath", op_mkdir, OK, NULL, false},
	{"no cpath: mkdir", "stdio rpath wpath", op_mkdir, KILLED, "mkdir", true},
	{"dpath: mkfifo", "stdio dpath", op_mkfifo, OK, NULL, false},
	{"no dpath: mkfifo", "stdio cpath", op_mkfifo, KILLED, "mknodat", true},
	{"tmppath: create+unlink", "stdio tmppath", op_tmpfile, OK, NULL, false},
	{"no tmppath: create", "stdio rpath", op_tmpfile, KILLED, "openat", true},
	{"inet: TCP socket", "stdio inet", op_inet_stream, OK, NULL, false},
	{"inet: bind+listen", "stdio inet", op_inet_listen, OK, NULL, false},
	{"no inet: TCP socket", "stdio unix", op_inet_stream, KILLED, "socket", true},
	{"unix: socket", "stdio unix", op_unix, OK, NULL, false},
	{"uevent: socket+bind", "stdio uevent", op_uevent, OK, NULL, false},
	{"uevent: no rtnetlink", "stdio uevent", op_netlink_route, KILLED, "socket", true},
	{"no uevent: socket", "stdio", op_uevent, KILLED, "socket", true},
	{"unix: sendto with address", "stdio unix", op_sendto_addr, OK, NULL, false},
	{"no unix: socket", "stdio inet", op_unix, KILLED, "socket", true},
	{"dns: UDP socket", "stdio dns", op_udp, OK, NULL, false},
	{"dns: no bind", "stdio dns", op_udp_bind, KILLED, "bind", true},
	{"no dns: UDP socket", "stdio", op_udp, KILLED, "socket", true},
	{"fattr: fchmod", "stdio fattr", op_fchmod, OK, NULL, false},
	{"fattr: no setuid bit", "stdio fattr", op_fchmod_suid, KILLED, "fchmod", true},
	{"no fattr: fchmod", "stdio", op_fchmod, KILLED, "fchmod", true},
	{"chown: fchown", "stdio chown", op_fchown, OK, NULL, false},
	{"no chown: fchown", "stdio", op_fchown, KILLED, "fchown", true},
	{"flock: flock", "stdio flock", op_flock, OK, NULL, false},
	{"flock: fcntl F_SETLK", "stdio flock", op_fcntl_lock, OK, NULL, false},
	{"no flock: flock", "stdio", op_flock, KILLED, "flock", true},
	{"no flock: fcntl F_SETLK", "stdio", op_fcntl_lock, KILLED, "fcntl", true},
	{"getpw: getpwuid", "stdio getpw", op_getpw, OK, NULL, false},
	{"no getpw: getpwuid", "stdio", op_getpw, KILLED, NULL, false},
	{"sendfd recvfd: pass an fd", "stdio sendfd recvfd", op_pass_fd, OK, NULL, false},
	{"proc: fork", "stdio proc", op_fork, OK, NULL, false},
	{"proc: signal to another", "stdio proc", op_kill_parent, OK, NULL, false},
	{"no proc: fork", "stdio", op_fork, KILLED, "clone", true},
	{"exec: execve", "stdio rpath exec", op_exec, OK, NULL, false},
	{"no exec: execve", "stdio rpath", op_exec, KILLED, "execve", true},
	{"id: setresuid", "stdio id", op_setresuid, OK, NULL, false},
	{"no id: setresuid", "stdio", op_setresuid, KILLED, "setresuid", true},
	{"tty: tcsetattr", "stdio tty", op_tcsetattr, OK, NULL, false},
	{"no tty: tcsetattr", "stdio", op_tcsetattr, KILLED, "ioctl", true},
	{"tty: never TIOCSTI", "stdio tty", op_tiocsti, KILLED, "ioctl", true},
	{"thread: pthread_create", "stdio thread", op_thread, OK, NULL, false},
	/* pthread_create blocks every signal around clone: the kernel then
	 * kills without running the handler, so no log line to check. */
	{"no thread: pthread_create", "stdio", op_thread, KILLED, NULL, false},
	{"prot_exec: anonymous exec mmap", "stdio prot_exec", op_mmap_anon_exec, OK, NULL, false},
	{"prot_exec: mprotect exec", "stdio prot_exec", op_mprotect_exec, OK, NULL, false},
	{"no prot_exec: anonymous exec mmap", "stdio", op_mmap_anon_exec, KILLED, "mmap", true},
	{"no prot_exec: mprotect exec", "stdio", op_mprotect_exec, KILLED, "mprotect", true},
	{"stdio: file-backed r-x mmap (loader)", "stdio", op_mmap_file_exec, OK, NULL, false},
	{"stdio: file-backed rwx mmap", "stdio", op_mmap_file_wx, KILLED, "mmap", true},
	{"sigaction: SIGSYS handler", "stdio sigaction", op_sigaction_sys, OK, NULL, false},
	/* (in debug mode nothing raises SIGSYS, so its handler is then allowed) */
	{"no sigaction: SIGSYS handler", "stdio", op_sigaction_sys, KILLED, "rt_sigaction", false},
	{"settime: settimeofday", "stdio settime", op_settime, OK, NULL, false},
	{"no settime: settimeofday", "stdio", op_settime, KILLED, "settimeofday", false},
	{"bpf: packet socket and its filter", "stdio bpf", op_packet, OK, NULL, false},
	{"no bpf: packet socket under inet", "stdio inet", op_packet, KILLED, "socket", false},
	{"accept: accept4", "stdio accept", op_accept, OK, NULL, false},
	{"no accept: accept4", "stdio", op_accept, KILLED, "accept4", true},
	{"unveil: hv_unveil after pledge", "stdio unveil", op_unveil_open, OK, NULL, false},
	{"no unveil: hv_unveil is locked", "stdio", op_unveil_locked, OK, NULL, false},
	{"high bits: socket(AF_INET) under unix", "stdio unix", op_hi_socket_inet, KILLED, "socket", true},
	{"high bits: socket(AF_UNIX) under unix", "stdio unix", op_hi_socket_unix, OK, NULL, false},
	{"high bits: ioctl TIOCSTI", "stdio tty", op_hi_tiocsti, KILLED, "ioctl", true},
	{"high bits: fcntl F_SETLK", "stdio", op_hi_fcntl_lock, KILLED, "fcntl", true},
	{"high bits: sigaction SIGSYS", "stdio", op_hi_sigaction_sys, KILLED, "rt_sigaction", false},
	{"high bits: prctl(PR_SET_DUMPABLE)", "stdio", op_hi_prctl, KILLED, "prctl", true},
	{"high bits: prctl(PR_SET_NAME) as the kernel reads it", "stdio", op_hi_prctl_name, OK, NULL, false},
	{"clone3 is ENOSYS (libc falls back)", "stdio thread", op_clone3, OK, NULL, false},
	{"openat2 is ENOSYS under rpath", "stdio rpath", op_openat2_enosys, OK, NULL, false},
	{"openat2 is ENOSYS under rpath wpath", "stdio rpath wpath", op_openat2_enosys, OK, NULL, false},
	{"openat2 under rpath wpath cpath", "stdio rpath wpath cpath", op_openat2, OK, NULL, false},
	{"openat2 under tmppath", "stdio tmppath", op_openat2, OK, NULL, false},
#if defined(__x86_64__)
	{"x32 system call", "stdio", op_x32, KILLED, NULL, false},
	{"i386 int 0x80", "stdio", op_int80, KILLED, NULL, false},
#endif
};

struct run_arg {
	const struct tcase *c;
	bool debug;
};

static int case_child(void *p)
{
	const struct run_arg *a = p;
	if (a->debug)
		hv_pledge_set_debug(true);
	int r = hv_pledge(a->c->promises, NULL);
	if (r < 0)
		return 100;
	r = a->c->op();
	return r == 0 ? 0 : r == -EPERM ? 1 : 2;
}

static void run_cases(void)
{
	char err[2048];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct run_arg a = {c, false};
		int st = run_child(case_child, &a, err, sizeof(err));
		if (c->expect == OK) {
			CHECK_MSG(st == 0, "%s [%s]: expected success, got %d: %s", c->what, c->promises, st, err);
		} else {
			CHECK_MSG(st == -SIGSYS, "%s [%s]: expected SIGSYS, got %d: %s", c->what, c->promises, st, err);
			if (c->call) {
				char want[96];
				/* a prefix: glibc on aarch64 calls mkdirat for mkdir */
				snprintf(want, sizeof(want), "pledge: system call %s", c->call);
				CHECK_MSG(strstr(err, want), "%s: log line should name %s: \"%s\"", c->what, c->call, err);
			}
		}
		if (c->debug) {
			a.debug = true;
			st = run_child(case_child, &a, err, sizeof(err));
			CHECK_MSG(st == 1, "%s [%s] debug: expected EPERM, got %d: %s", c->what, c->promises, st, err);
		}
	}
	printf("%zu promise cases run\n", sizeof(cases) / sizeof(cases[0]));
}

/* --- beyond single calls ------------------------------------------------ */

static int narrowing_child(void *p)
{
	(void)p;
	if (hv_pledge("stdio rpath inet", NULL) < 0)
		return 10;
	if (hv_pledge("stdio rpath inet unix", NULL) != -EPERM) /* adding */
		return 11;
	if (hv_pledge("stdio rpath", NULL) < 0) /* dropping inet */
		return 12;
	if (hv_pledge("stdio rpath inet", NULL) != -EPERM) /* re-adding */
		return 13;
	if (hv_pledge("stdio bogus", NULL) != -EINVAL)
		return 14;
	if (op_open_r() != 0) /* rpath still held */
		return 15;
	op_inet_stream(); /* dropped: must die */
	return 16;
}

static volatile int thread_go;
static void *confined_thread(void *p)
{
	(void)p;
	while (!__atomic_load_n(&thread_go, __ATOMIC_ACQUIRE))
		sched_yield();
	op_open_r(); /* forbidden: the whole process dies */
	return NULL;
}

static int thread_before_child(void *p)
{
	(void)p;
	pthread_t t;
	if (pthread_create(&t, NULL, confined_thread, NULL))
		return 10;
	if (hv_pledge("stdio thread", NULL) < 0) /* TSYNC covers t */
		return 11;
	__atomic_store_n(&thread_go, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	return 12;
}

static int thread_after_child(void *p)
{
	(void)p;
	if (hv_pledge("stdio thread", NULL) < 0)
		return 11;
	thread_go = 1;
	pthread_t t;
	if (pthread_create(&t, NULL, confined_thread, NULL))
		return 10;
	pthread_join(t, NULL);
	return 12;
}

static int exec_child(void *p)
{
	const char *mode = p;
	if (hv_pledge("stdio rpath exec", "stdio rpath") < 0)
		return 10;
	if (hv_pledge(NULL, "stdio rpath inet") != -EPERM) /* execpromises only narrow */
		return 11;
	char *argv[] = {helper, (char *)mode, NULL};
	char *envp[] = {NULL};
	hv_execve(helper, argv, envp);
	return 12;
}

/* Guards against: hv_pledge(promises, execpromises) confining only what
 * is exec'd later and leaving the caller itself unconfined. */
static int both_self_child(void *p)
{
	(void)p;
	if (hv_pledge("stdio rpath exec", "stdio rpath") < 0)
		return 10;
	if (op_open_r() != 0) /* held: still works */
		return 11;
	op_inet_stream(); /* not held: SIGSYS */
	return 12;
}

static int exec_exceeds_child(void *p)
{
	(void)p;
	return hv_pledge("stdio exec", "stdio inet") == -EPERM ? 0 : 1;
}

/* HAVEN_PLEDGE without a filter in place is stale: ignored. */
static int stale_env_child(void *p)
{
	(void)p;
	setenv("HAVEN_PLEDGE", "stdio", 1);
	return hv_pledge("stdio rpath", NULL) == 0 && op_open_r() == 0 ? 0 : 1;
}

static void run_process_cases(void)
{
	char err[2048];
	int st0 = run_child(stale_env_child, NULL, err, sizeof(err));
	CHECK_MSG(st0 == 0, "stale HAVEN_PLEDGE in an unconfined process: got %d: %s", st0, err);
	int st = run_child(narrowing_child, NULL, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "narrowing: expected SIGSYS at the dropped promise, got %d: %s", st, err);
	CHECK_MSG(strstr(err, "promise \"unix\" not held"), "narrowing: adding should be logged: %s", err);

	st = run_child(thread_before_child, NULL, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "thread created before pledge: expected SIGSYS, got %d: %s", st, err);
	st = run_child(thread_after_child, NULL, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "thread created after pledge: expected SIGSYS, got %d: %s", st, err);

	/* execpromises: the exec'd helper starts with exactly "stdio rpath". */
	st = run_child(exec_child, "promises", err, sizeof(err));
	CHECK_MSG(st == 0, "execpromises: helper should run, got %d: %s", st, err);
	CHECK_MSG(strstr(err, "HAVEN_PLEDGE=stdio rpath"), "execpromises: helper should see its promises: %s", err);
	st = run_child(exec_child, "socket", err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "execpromises: helper's socket() should kill it, got %d: %s", st, err);
	st = run_child(exec_child, "exec", err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "execpromises: helper's own execve (no exec) should kill it, got %d: %s", st, err);
	st = run_child(both_self_child, NULL, err, sizeof(err));
	CHECK_MSG(st == -SIGSYS, "pledge with execpromises must confine the caller too, got %d: %s", st, err);
	st = run_child(exec_exceeds_child, NULL, err, sizeof(err));
	CHECK_MSG(st == 0, "execpromises beyond promises should be -EPERM, got %d: %s", st, err);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s HELPER\n", argv[0]);
		return 2;
	}
	snprintf(helper, sizeof(helper), "%s", argv[1]);
	snprintf(file_path, sizeof(file_path), "%s/file", test_tmpdir());
	file_fd = open(file_path, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	if (file_fd < 0 || write(file_fd, "hello\n", 6) != 6 || ftruncate(file_fd, 4096) < 0) {
		perror(file_path);
		return 1;
	}
	int p[2];
	if (pipe(p) < 0)
		return 1;
	pipe_w = p[1];
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/listen", test_tmpdir());
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(listen_fd, 4) < 0) {
		perror("listen socket");
		return 1;
	}
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0 ||
	    (pty_slave = open(ptsname(master), O_RDWR | O_NOCTTY)) < 0) {
		perror("pty");
		return 1;
	}

	run_cases();
	/* drain what op_write put in the pipe, so it never fills */
	char buf[4096];
	while (read(p[0], buf, sizeof(buf)) > 0)
		;
	run_process_cases();

	test_tmpdir_cleanup();
	int r = check_result();
	if (r == 0)
		printf("ok\n");
	return r;
}
