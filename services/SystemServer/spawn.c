/* spawn.c — starting one service process.
 *
 * Everything that allocates happens in the parent (argv, environment,
 * account lookups); the child only moves fds into place, drops privileges,
 * applies the sandbox and execs. A CLOEXEC pipe carries a failure back
 * ("which step, which errno") so the log says exactly why a start failed;
 * it reads EOF when exec succeeded, which is also the `exec` readiness.
 * Without a sandbox the child shares the manager's memory until its exec
 * (clone with CLONE_VM | CLONE_VFORK, see spawn_child). Also here: the
 * Pledge= supervisor (the seccomp listener that names a forbidden call)
 * and the Readiness=socket probe.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/sandbox.h>
#include <haven/util.h>

#include "internal.h"
#include "netsock.h"

extern char **environ;

enum spawn_step {
	STEP_FDS = 1, STEP_SETSID, STEP_CHDIR, STEP_PRIORITY, STEP_RLIMIT, STEP_GROUPS, STEP_GID, STEP_UID,
	STEP_UNVEIL, STEP_SANDBOX, STEP_EXEC,
	STEP_CAPS,
};
static const char *const step_names[] = {
	[STEP_FDS] = "arrange fds", [STEP_SETSID] = "setsid", [STEP_CHDIR] = "chdir to WorkingDirectory",
	[STEP_PRIORITY] = "set Priority", [STEP_RLIMIT] = "set resource limit", [STEP_GROUPS] = "clear supplementary groups",
	[STEP_GID] = "setgid", [STEP_UID] = "setuid", [STEP_UNVEIL] = "create the Unveil= directory",
	[STEP_SANDBOX] = "apply the sandbox",
	[STEP_EXEC] = "exec",
	[STEP_CAPS] = "keep AmbientCapabilities",
};

struct spawn_err {
	int step, err, detail; /* detail: STEP_RLIMIT's enum ss_limit, STEP_UNVEIL's entry */
};

static const char *const managed_env[] = {
	"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
	"WATCHDOG_PID=", "SOCKET_TAKEOVER=", "HAVEN_HANDOFF_FD=", "HAVEN_SERVICE=", "HAVEN_PORTAL_DIR=",
	"HAVEN_IPC_QUOTAS=",
};

static bool env_overridden(const char *e, const hv_strv *extra)
{
	size_t klen = strcspn(e, "=");
	for (size_t i = 0; i < HV_ARRAY_SIZE(managed_env); i++)
		if (strncmp(e, managed_env[i], strlen(managed_env[i])) == 0)
			return true;
	for (size_t i = 0; i < extra->n; i++)
		if (strncmp(e, extra->v[i], klen + 1) == 0)
			return true;
	return false;
}

/* Child-side: copy fd to a number >= floor so the dup2s below never
 * clobber a source. */
static int lift(int fd, int floor) { return fd < 0 ? -1 : fcntl(fd, F_DUPFD, floor); }

__attribute__((noreturn)) static void child_fail_detail(int errfd, int step, int err, int detail)
{
	struct spawn_err e = {step, err, detail};
	ssize_t w = write(errfd, &e, sizeof e);
	(void)w;
	_exit(127);
}

__attribute__((noreturn)) static void child_fail(int errfd, int step, int err)
{
	child_fail_detail(errfd, step, err, 0);
}

int ss_handoff_send(int handoff_fd, int conn)
{
	char byte = 'c';
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &conn, sizeof(int));
	if (sendmsg(handoff_fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

static void on_child_exit(hv_loop *loop, pid_t pid, int status, void *userdata)
{
	ss_instance_exited(userdata, status);
}

static void watchdog_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_instance *i = userdata;
	hv_log_warn("%s[%d]: watchdog timeout (no WATCHDOG=1 within %.1f s), restarting",
		    i->unit->def->name, (int)i->pid, (double)i->unit->def->watchdog_usec / 1e6);
	i->watchdog_fired = true;
	ss_instance_stop(i, SIGABRT); /* SIGKILL follows after TimeoutStopSec */
	i->stopping = false;	      /* its exit is a failure to handle, not a request */
}

/* A forbidden call is waiting on the instance's seccomp listener.
 * hv_sandbox_notify_handle() logs the call's name on stderr and kills the
 * caller; that one line is also what the service's log and `svc status`
 * must show, so it is caught on its way out. The manager is
 * single-threaded, so borrowing fd 2 for one call races with nothing. */
static void listener_cb(hv_loop *loop, int fd, uint32_t events, void *userdata)
{
	ss_instance *i = userdata;
	const ss_svc_def *d = i->unit->def;
	char ident[160];
	snprintf(ident, sizeof ident, "%s", d->name);
	if ((events & HV_IO_ERROR) || !(events & HV_IO_READ)) {
		/* The filter has no users left: the process is gone. */
		hv_watch_free(i->listener_watch);
		i->listener_watch = NULL;
		return;
	}
	int pfd[2] = {-1, -1}, saved = -1;
	if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) == 0 && (saved = fcntl(2, F_DUPFD_CLOEXEC, 3)) >= 0)
		dup2(pfd[1], 2);
	int r = hv_sandbox_notify_handle(fd, ident, d->pledge, false);
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	char buf[1024];
	ssize_t n = pfd[0] >= 0 ? read(pfd[0], buf, sizeof buf - 1) : -1;
	if (n > 0) {
		buf[n] = '\0';
		ssize_t w = write(2, buf, (size_t)n); /* the manager's own log keeps it too */
		(void)w;
		buf[strcspn(buf, "\n")] = '\0';
		/* The unit log gets "pledge: system call …", without the log prefix. */
		char *what = strstr(buf, "pledge: ");
		ss_unit_log_add(i->unit, what ? what : buf);
		free(i->violation);
		i->violation = strdup(what ? what : buf);
	}
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	if (r < 0 && r != -ENOENT) {
		/* A listener that fails once would spin the loop: stop watching;
		 * further forbidden calls then fail with ENOSYS (never allowed). */
		hv_log_errno(r, "%s[%d]: cannot handle a sandbox notification", d->name, (int)i->pid);
		hv_watch_free(i->listener_watch);
		i->listener_watch = NULL;
	}
}

/* Signals whose disposition is not the default: ignored ones would stay
 * ignored across exec, and a handler must not run in a child sharing our
 * memory. Asked once: the manager never changes them after start-up (its
 * own signals come through lib/core's signalfd). */
static void signals_to_reset(sigset_t *out)
{
	static sigset_t cache;
	static bool known;
	if (!known) {
		sigemptyset(&cache);
		for (int sig = 1; sig < NSIG; sig++) {
			struct sigaction sa;
			if (sigaction(sig, NULL, &sa) == 0 && sa.sa_handler != SIG_DFL)
				sigaddset(&cache, sig);
		}
		known = true;
	}
	*out = cache;
}

static void start_timeout_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_instance *i = userdata;
	if (i->ready)
		return;
	hv_log_warn("%s[%d]: %s within %.1f s (TimeoutStartSec), stopping it", i->unit->def->name, (int)i->pid,
		    i->unit->def->readiness == SS_READY_SOCKET ? "no connection accepted" : "no READY=1",
		    (double)i->unit->def->start_timeout_ns / 1e9);
	i->start_timed_out = true;
	ss_instance_stop(i, SIGTERM); /* SIGKILL follows after TimeoutStopSec */
	i->stopping = false;	      /* its exit is a failure, not a request */
}

static struct rlimit service_nofile;
static bool service_nofile_known;

void ss_manager_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	service_nofile = rl;
	service_nofile_known = true;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			hv_log_warn("cannot raise the open-file limit: %m");
	}
}

/* Readiness=socket: the service is ready once it accepts a connection on
 * its (first) socket. The manager shares the listening socket with it, so
 * it can see the accept queue: it connects once itself, and the service is
 * ready when the queue holding that connection has been drained (poll on
 * the listening socket: POLLIN while a connection waits to be accepted).
 * Nothing in the kernel reports "queue became empty", hence the timer. */
#define SS_PROBE_INTERVAL_NS 2000000ull

static int probe_connect(const char *socket_spec)
{
	if (ss_netsock_is(socket_spec))
		return ss_netsock_connect(socket_spec); /* EINPROGRESS: queued all the same */
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_spec);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		return -errno;
	return HV_TAKE_FD(fd);
}

static void probe_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_instance *i = userdata;
	ss_unit *u = i->unit;
	if (i->ready || u->listen_fds[0] < 0)
		return;
	if (i->probe_fd < 0) {
		int fd = probe_connect(u->def->sockets.v[0]);
		if (fd >= 0) {
			i->probe_fd = fd;
		} else {
			/* EAGAIN: the backlog is full of real clients; try again. */
			if (errno != EAGAIN)
				hv_log_debug("%s: readiness probe: %m", u->def->name);
			if (fd >= 0)
				close(fd);
		}
		return;
	}
	struct pollfd p = {.fd = u->listen_fds[0], .events = POLLIN};
	if (poll(&p, 1, 0) != 0)
		return; /* still waiting to be accepted (or an error: keep looking) */
	hv_log_debug("%s[%d]: accepted on its socket", u->def->name, (int)i->pid);
	hv_timer_disarm(t);
	hv_close(&i->probe_fd); /* the service sees a client that left at once */
	ss_instance_ready(i);
}

/* Everything a spawn prepares in the parent; spawn_plan_done releases what
 * it still owns, whichever step failed. */
typedef struct spawn_plan {
	/* Which account. */
	bool drop;
	uid_t uid;
	gid_t gid;
	const struct passwd *pw; /* the account's entry, if known (getpwuid's) */
	/* fds: the ones handed over as 3, 4, …, then stdio. */
	int srcs[64];
	int nsrc;
	int stdin_fd, stdout_fd;	   /* borrowed (-1: inherit) */
	int file_fd;			   /* StdIO=file (owned) */
	int handoff_parent, handoff_child; /* PerUser: further connections (owned) */
	/* Environment and argv. */
	hv_strv env; /* what this spawn adds (owned) */
	char **envp; /* unit's base environment + env, for execve (array owned) */
	char **argv; /* array owned */
	size_t listen_pid_idx, wd_pid_idx; /* 1-based slots the child fills; 0: none */
	/* Sandbox. */
	bool sandbox;
	hv_sandbox_spec spec;
	const char **unveils;	   /* spec's list, the child's to edit (array owned) */
	int sup_parent, sup_child; /* Pledge=: where the seccomp listener comes (owned) */
	hv_sandbox_prepared *prepared; /* the unit's, borrowed: applied as is */
	int ruleset;		       /* its Landlock ruleset (borrowed), -1: none */
} spawn_plan;

#define SPAWN_PLAN_INIT                                                                            \
	{                                                                                          \
		.stdin_fd = -1, .stdout_fd = -1, .file_fd = -1, .handoff_parent = -1,              \
		.handoff_child = -1, .sup_parent = -1, .sup_child = -1, .ruleset = -1              \
	}

static void spawn_plan_done(spawn_plan *p)
{
	hv_close(&p->file_fd);
	hv_close(&p->handoff_parent);
	hv_close(&p->handoff_child);
	hv_strv_clear(&p->env);
	free(p->envp);
	free(p->argv);
	free(p->unveils);
	hv_close(&p->sup_parent);
	hv_close(&p->sup_child);
}

/* What the child needs; it only reads it (and fills the PID slots of the
 * environment, which the parent built for it). */
typedef struct child_args {
	spawn_plan *p;
	const ss_svc_def *d;
	int errfd, sup_child;
	size_t listen_pid_idx, wd_pid_idx;
	sigset_t reset; /* dispositions to set back to SIG_DFL */
	const hv_sandbox_spec *spec;
	const char **unveils; /* spec's list, ours to edit (a real fork then) */
	bool sandbox;
	hv_sandbox_prepared *prepared; /* or NULL: lib/sandbox builds it here */
} child_args;

/* Unveil= paths that do not exist yet, in the child after the uid drop (so
 * as the service's account; a real fork, never a shared address space).
 * With "c" the path is created (0700, parents too): it is the directory the
 * service is to write in, e.g. $XDG_CONFIG_HOME/haven of a fresh account.
 * Without "c" the entry is dropped, with a line in the service's log: a
 * missing path grants nothing and Landlock cannot name it, so the view only
 * gets narrower. Returns the index of an entry that could not be created
 * (errno in *err), or -1. */
static int prepare_unveils(const char **v, int *err)
{
	size_t k = 0;
	for (size_t i = 0; v[i]; i++) {
		const char *e = v[i], *colon = strrchr(e, ':');
		size_t len = colon ? (size_t)(colon - e) : 0;
		char path[PATH_MAX];
		struct stat st;
		if (e[0] != '/' || len == 0 || len >= sizeof path) { /* tcp:…, or lib/sandbox's to refuse */
			v[k++] = e;
			continue;
		}
		memcpy(path, e, len);
		path[len] = '\0';
		if (stat(path, &st) == 0 || errno != ENOENT) {
			v[k++] = e; /* exists, or an error lib/sandbox reports */
			continue;
		}
		if (!strchr(colon + 1, 'c')) {
			dprintf(2, "SystemServer: Unveil= %s does not exist: left out (nothing to grant)\n", path);
			continue;
		}
		for (char *s = path + 1;; s++) {
			if (*s != '/' && *s != '\0')
				continue;
			char c = *s;
			*s = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST) {
				*err = errno;
				return (int)i;
			}
			*s = c;
			if (!c)
				break;
		}
		v[k++] = e;
	}
	v[k] = NULL;
	return -1;
}

/* Child-side, after the uid drop (PR_SET_KEEPCAPS kept the permitted
 * set): caps become the permitted, effective and inheritable sets, then
 * ambient, so they survive the exec of a program without file
 * capabilities (and no_new_privs, which the sandbox sets next). Raw
 * system calls, no allocation: this may run on the manager's memory. */
static void keep_caps(int errfd, uint64_t caps)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {
		{.effective = (uint32_t)caps, .permitted = (uint32_t)caps, .inheritable = (uint32_t)caps},
		{.effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32),
		 .inheritable = (uint32_t)(caps >> 32)},
	};
	if (syscall(SYS_capset, &h, d) < 0)
		child_fail(errfd, STEP_CAPS, errno);
	for (int cap = 0; cap < 64; cap++)
		if (caps & (1ull << cap) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			child_fail(errfd, STEP_CAPS, errno);
}

/* Child-side: the handed-over fds at 3…, the PerUser channel after them,
 * stdio at 0-2; then the error pipe and the Pledge= listener socket just
 * above (close-on-exec), and every other fd closed for real. The manager
 * holds a pidfd per instance (and a listener per sandboxed one): still
 * open, they would fill a low LimitNOFILE= set next, and the sandbox's
 * first new fd (its seccomp listener) would fail with EMFILE. Returns the
 * error pipe's number; *sup gets the listener socket's (or -1). */
static int arrange_fds(const child_args *a, int *sup, int *ruleset)
{
	const spawn_plan *p = a->p;
	int keep = 3 + p->nsrc + (p->handoff_child >= 0);
	int floor = keep + 3; /* no lifted copy sits where the pipe, sup and ruleset go */
	int errfd = lift(a->errfd, floor);
	if (errfd < 0)
		child_fail(a->errfd, STEP_FDS, errno);
	int tmp[64], tin = lift(p->stdin_fd, floor), tout = lift(p->stdout_fd, floor);
	int thand = lift(p->handoff_child, floor), tsup = lift(a->sup_child, floor);
	int trs = a->prepared ? lift(p->ruleset, floor) : -1;
	for (int i = 0; i < p->nsrc; i++)
		if ((tmp[i] = lift(p->srcs[i], floor)) < 0)
			child_fail(errfd, STEP_FDS, errno);
	for (int i = 0; i < p->nsrc; i++)
		if (dup2(tmp[i], 3 + i) < 0)
			child_fail(errfd, STEP_FDS, errno);
	if (thand >= 0 && dup2(thand, 3 + p->nsrc) < 0)
		child_fail(errfd, STEP_FDS, errno);
	if (tin >= 0 && dup2(tin, 0) < 0)
		child_fail(errfd, STEP_FDS, errno);
	if (tout >= 0 && (dup2(tout, 1) < 0 || dup2(tout, 2) < 0))
		child_fail(errfd, STEP_FDS, errno);
	if (dup3(errfd, keep, O_CLOEXEC) < 0)
		child_fail(errfd, STEP_FDS, errno);
	errfd = keep;
	*sup = tsup >= 0 ? keep + 1 : -1;
	if (tsup >= 0 && dup3(tsup, keep + 1, O_CLOEXEC) < 0)
		child_fail(errfd, STEP_FDS, errno);
	int rs_slot = keep + 1 + (tsup >= 0);
	*ruleset = trs >= 0 ? rs_slot : -1;
	if (trs >= 0 && dup3(trs, rs_slot, O_CLOEXEC) < 0)
		child_fail(errfd, STEP_FDS, errno);
	if (syscall(SYS_close_range, rs_slot + (trs >= 0), ~0u, 0) < 0)
		child_fail(errfd, STEP_FDS, errno);
	return errfd;
}

/* The child, from fork() or from a clone(CLONE_VM | CLONE_VFORK): it runs
 * on the manager's memory then, so it must not allocate, must not return,
 * and must leave everything but the environment's PID slots as it was. */
__attribute__((noreturn)) static int child_main(void *arg)
{
	const child_args *a = arg;
	/* --- child: no allocation from here on --- */
	/* Every signal is blocked here (the parent blocked them for the
	 * clone). Ignored ones would survive exec, and with a shared address
	 * space a handler must never run in the child: default first, then
	 * the empty mask the service starts with. */
	for (int sig = 1; sig < NSIG; sig++)
		if (sigismember(&a->reset, sig) == 1)
			signal(sig, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	int tsup, trs, errfd = arrange_fds(a, &tsup, &trs);
	char buf[16];
	snprintf(buf, sizeof buf, "%d", (int)getpid());
	if (a->listen_pid_idx)
		memcpy(a->p->env.v[a->listen_pid_idx - 1] + strlen("LISTEN_PID="), buf, strlen(buf) + 1);
	if (a->wd_pid_idx)
		memcpy(a->p->env.v[a->wd_pid_idx - 1] + strlen("WATCHDOG_PID="), buf, strlen(buf) + 1);
	if (setsid() < 0)
		child_fail(errfd, STEP_SETSID, errno);
	if (chdir(a->d->workdir) < 0)
		child_fail(errfd, STEP_CHDIR, errno);
	if (a->d->priority && setpriority(PRIO_PROCESS, 0, a->d->priority) < 0)
		child_fail(errfd, STEP_PRIORITY, errno);
	/* Before the uid drop: only root may raise a hard limit. The manager
	 * raised its own open-file limit; a service gets the one it had. */
	if (service_nofile_known && !a->d->limits[SS_LIMIT_NOFILE].set)
		setrlimit(RLIMIT_NOFILE, &service_nofile);
	for (int l = 0; l < SS_LIMIT_COUNT; l++) {
		const ss_svc_limit *lim = &a->d->limits[l];
		struct rlimit rl = {(rlim_t)lim->soft, (rlim_t)lim->hard};
		if (lim->set && setrlimit(ss_limit_resources[l], &rl) < 0)
			child_fail_detail(errfd, STEP_RLIMIT, errno, l);
	}
	if (a->p->drop) {
		/* Order matters: groups and gid need privilege we give up with uid. */
		/* Raw system calls: glibc's wrappers would broadcast the change
		 * to the threads it knows, which are the parent's when the
		 * address space is shared; this process has one thread. */
		if (a->d->ambient_caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			child_fail(errfd, STEP_CAPS, errno);
		if (syscall(SYS_setgroups, 0, NULL) < 0)
			child_fail(errfd, STEP_GROUPS, errno);
		if (syscall(SYS_setresgid, a->p->gid, a->p->gid, a->p->gid) < 0)
			child_fail(errfd, STEP_GID, errno);
		if (syscall(SYS_setresuid, a->p->uid, a->p->uid, a->p->uid) < 0)
			child_fail(errfd, STEP_UID, errno);
		/* Between the uid drop and the sandbox: the filter may forbid capset. */
		if (a->d->ambient_caps)
			keep_caps(errfd, a->d->ambient_caps);
	}
	if (a->prepared) {
		/* Compiled once in the manager: four system calls, no allocation. */
		int q = hv_sandbox_exec_prepared(a->prepared, trs, a->p->argv, a->p->envp, tsup);
		child_fail(errfd, STEP_SANDBOX, -q);
	}
	if (a->sandbox) {
		int uerr = 0, bad = a->unveils ? prepare_unveils(a->unveils, &uerr) : -1;
		if (bad >= 0)
			child_fail_detail(errfd, STEP_UNVEIL, uerr, bad);
		int q = tsup >= 0 ? hv_sandbox_exec_supervised(a->spec, a->d->executable, a->p->argv, a->p->envp, tsup)
				  : hv_sandbox_exec(a->spec, a->d->executable, a->p->argv, a->p->envp);
		child_fail(errfd, STEP_SANDBOX, -q);
	}
	execve(a->d->executable, a->p->argv, a->p->envp);
	child_fail(errfd, STEP_EXEC, errno);
}


#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#endif

/* Start the child. shared_vm: clone(CLONE_VM | CLONE_VFORK) on a stack of
 * its own, as posix_spawn does: no copy of the manager's page tables (nor
 * the copy-on-write faults that follow a fork), the manager waits until
 * the child has exec'd (it waited for that anyway, on the error pipe), and
 * the same call returns the pidfd the loop watches it with. Otherwise, and
 * in sanitizer builds (whose runtimes do not expect a second flow of
 * control on their memory), fork(). Signals stay blocked across the call
 * so none is handled in the child. Returns the pid or a negative errno. */
static pid_t spawn_child(child_args *a, bool shared_vm, int *pidfd)
{
	sigset_t all, old;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid_t pid = -1;
#ifndef UNDER_SANITIZER
	if (shared_vm) {
		/* One child at a time runs on it: the parent is suspended until
		 * that child has exec'd or exited. */
		static _Alignas(64) char stack[64 * 1024];
		pid = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, a,
			    pidfd);
	}
#else
	(void)shared_vm;
#endif
	if (pid < 0) {
		*pidfd = -1;
		pid = fork();
		if (pid == 0)
			child_main(a);
	}
	int err = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return pid < 0 ? -err : pid;
}

/* --- the plan: account, fds, environment, argv, sandbox ------------------- */

static void plan_account(const ss_unit *u, uid_t peer, spawn_plan *p)
{
	const ss_manager *m = u->m;
	const ss_svc_def *d = u->def;
	if (d->has_user) {
		p->uid = d->uid;
		p->gid = d->gid;
		p->drop = true;
		p->pw = getpwuid(d->uid);
	} else if (m->root && peer != (uid_t)-1 && peer != 0 && (d->accept || d->per_user)) {
		/* SerenityOS: a per-connection instance runs as the peer. */
		p->pw = getpwuid(peer);
		p->uid = peer;
		p->gid = p->pw ? p->pw->pw_gid : (gid_t)peer;
		p->drop = true;
	} else if (d->has_group) {
		p->uid = getuid();
		p->gid = d->gid;
		p->drop = true;
	}
	if (p->drop && !m->root) {
		if (p->uid != getuid() || p->gid != getgid())
			hv_log_warn("%s: User=/Group= ignored: the manager is not root", d->name);
		p->drop = false;
	}
	/* Capabilities are kept across a uid drop only; a service running as
	 * the manager's own uid has what the manager has. */
	if (d->ambient_caps && !p->drop)
		hv_log_warn("%s: AmbientCapabilities= ignored: no User= to drop to (or the manager is not root)",
			    d->name);
}

static int plan_stdio(ss_unit *u, spawn_plan *p)
{
	ss_manager *m = u->m;
	const ss_svc_def *d = u->def;
	if (m->null_fd < 0 && (m->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return hv_log_errno(-errno, "Failed to open /dev/null");
	p->stdin_fd = m->null_fd;
	switch (d->stdio) {
	case SS_STDIO_LOG:
		if (ss_unit_logs_open(u) < 0)
			hv_log_warn("%s: output not captured (no log pipe)", d->name);
		p->stdout_fd = u->log_wfd >= 0 ? u->log_wfd : m->null_fd;
		break;
	case SS_STDIO_NULL:
		p->stdout_fd = m->null_fd;
		break;
	case SS_STDIO_INHERIT:
		p->stdin_fd = p->stdout_fd = -1;
		break;
	case SS_STDIO_FILE:
		p->file_fd = open(d->stdio_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (p->file_fd < 0) {
			int err = errno;
			ss_unit_set_failed(u, "cannot open StdIO=%s: %s", d->stdio_path,
					   strerror(err));
			return -err;
		}
		p->stdout_fd = p->file_fd;
		break;
	}
	return 0;
}

/* fds handed over: the accepted connection or the listening sockets, the
 * PerUser hand-off channel, stdio. */
static int plan_fds(ss_unit *u, int conn, bool spare, spawn_plan *p)
{
	const ss_svc_def *d = u->def;
	if (spare) {
		/* nothing yet: its connection comes over the hand-off socket */
	} else if (conn >= 0) {
		p->srcs[p->nsrc++] = conn;
	} else {
		for (size_t i = 0; i < d->sockets.n && p->nsrc < 60; i++)
			if (u->listen_fds[i] >= 0)
				p->srcs[p->nsrc++] = u->listen_fds[i];
	}
	if (d->per_user || spare) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return hv_log_errno(-errno, "%s: socketpair", d->name);
		p->handoff_parent = sv[0];
		p->handoff_child = sv[1];
	}
	return plan_stdio(u, p);
}

/* The environment every spawn of u starts from: prepared once (the
 * manager never changes its own environment) - shared by every unit
 * without Environment=, per definition otherwise. NULL when out of memory. */
static const hv_strv *base_environment(ss_unit *u)
{
	ss_manager *m = u->m;
	const ss_svc_def *d = u->def;
	hv_strv *benv = d->env.n ? &u->base_env : &m->base_env;
	if (d->env.n ? u->base_env_def == d : m->base_env_ready)
		return benv;
	int r = 0;
	hv_strv_clear(benv);
	for (char **e = environ; *e && r == 0; e++)
		if (!env_overridden(*e, &d->env))
			r = hv_strv_push(benv, *e);
	for (size_t i = 0; i < d->env.n && r == 0; i++)
		r = hv_strv_push(benv, d->env.v[i]);
	if (r < 0) {
		hv_strv_clear(benv);
		return NULL;
	}
	if (d->env.n)
		u->base_env_def = d;
	else
		m->base_env_ready = true;
	return benv;
}

__attribute__((format(printf, 2, 3))) static int pushf(hv_strv *l, const char *fmt, ...)
{
	_hv_free_ char *s = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		s = NULL;
		return -ENOMEM;
	}
	return hv_strv_push(l, s);
}

/* systemd's socket activation: LISTEN_* (the PID is written by the child
 * into its reserved slot) and SOCKET_TAKEOVER (paths with their fds). */
static int plan_listen_env(const ss_svc_def *d, int conn, spawn_plan *p)
{
	int r = pushf(&p->env, "LISTEN_FDS=%d", p->nsrc);
	if (r < 0)
		return r;
	p->listen_pid_idx = p->env.n + 1;
	if ((r = pushf(&p->env, "LISTEN_PID=%-12s", "")) < 0)
		return r;
	char names[2048] = "", takeover[4096] = "";
	for (int i = 0; i < p->nsrc; i++) {
		const char *path = conn >= 0 ? d->sockets.v[0] : d->sockets.v[i];
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		char netname[32];
		if (ss_netsock_is(path))
			ss_netsock_fdname(path, netname, sizeof netname), base = netname;
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ":" : "",
			 conn >= 0 ? "connection" : base);
		if (!ss_netsock_is(path)) /* SOCKET_TAKEOVER names paths only */
			snprintf(takeover + strlen(takeover), sizeof takeover - strlen(takeover),
				 "%s%s:%d", takeover[0] ? " " : "", path, 3 + i);
	}
	if ((r = pushf(&p->env, "LISTEN_FDNAMES=%s", names)) < 0)
		return r;
	return pushf(&p->env, "SOCKET_TAKEOVER=%s", takeover);
}

/* What the manager tells this spawn (managed_env). */
static int plan_own_env(const ss_unit *u, int conn, bool spare, spawn_plan *p)
{
	const ss_svc_def *d = u->def;
	int r = p->nsrc > 0 ? plan_listen_env(d, conn, p) : 0;
	if (r == 0 && p->handoff_child >= 0)
		r = pushf(&p->env, "HAVEN_HANDOFF_FD=%d", 3 + p->nsrc);
	if (r == 0 && spare)
		r = hv_strv_push(&p->env, "HAVEN_SPARE=1");
	if (r == 0)
		r = pushf(&p->env, "NOTIFY_SOCKET=%s", u->m->notify_path);
	if (r == 0 && d->watchdog_usec) {
		r = pushf(&p->env, "WATCHDOG_USEC=%llu", (unsigned long long)d->watchdog_usec);
		p->wd_pid_idx = p->env.n + 1;
		if (r == 0)
			r = pushf(&p->env, "WATCHDOG_PID=%-12s", "");
	}
	if (r == 0)
		r = pushf(&p->env, "HAVEN_SERVICE=%s", d->name);
	if (r == 0)
		r = pushf(&p->env, "HAVEN_PORTAL_DIR=%s", u->m->portal_dir);
	_hv_free_ char *quotas = NULL;
	if (r == 0 && (r = ss_ipc_quota_env(d, &quotas)) == 0 && quotas)
		r = hv_strv_push(&p->env, quotas);
	if (r == 0 && p->drop && p->pw) {
		if ((r = pushf(&p->env, "HOME=%s", p->pw->pw_dir)) == 0 &&
		    (r = pushf(&p->env, "USER=%s", p->pw->pw_name)) == 0)
			r = pushf(&p->env, "LOGNAME=%s", p->pw->pw_name);
	}
	return r;
}

/* A dropped-to account's HOME/USER/LOGNAME win over the manager's, and its
 * XDG dirs are the defaults under its HOME (as the definition's
 * $XDG_CONFIG_HOME … meant). */
static bool env_replaced_by_account(const spawn_plan *p, const char *e)
{
	if (!p->drop || !p->pw)
		return false;
	if (!strncmp(e, "HOME=", 5) || !strncmp(e, "USER=", 5) || !strncmp(e, "LOGNAME=", 8))
		return true;
	return p->pw->pw_uid != getuid() &&
	       (!strncmp(e, "XDG_CONFIG_HOME=", 16) || !strncmp(e, "XDG_DATA_HOME=", 14) ||
		!strncmp(e, "XDG_STATE_HOME=", 15) || !strncmp(e, "XDG_CACHE_HOME=", 15));
}

/* What lib/sandbox tells a program it holds: a prepared sandbox's own
 * values replace inherited ones (as hv_sandbox_exec() does). */
static bool is_pledge_var(const char *e)
{
	return !strncmp(e, "HAVEN_PLEDGE=", 13) || !strncmp(e, "HAVEN_EXECPLEDGE=", 17) ||
	       !strncmp(e, "HAVEN_PLEDGE_TRAPS=", 19);
}

/* envp = the base environment (minus what the account replaces) + this
 * spawn's own (+ a prepared sandbox's); argv = Executable + Arguments. */
static int plan_environment(ss_unit *u, int conn, bool spare, spawn_plan *p)
{
	const ss_svc_def *d = u->def;
	const hv_strv *benv = base_environment(u);
	if (!benv)
		return -ENOMEM;
	int r = plan_own_env(u, conn, spare, p);
	if (r < 0)
		return r;
	const char *const *sbenv = p->prepared ? hv_sandbox_prepared_env(p->prepared) : NULL;
	size_t nsb = 0;
	while (sbenv && sbenv[nsb])
		nsb++;
	p->envp = calloc(benv->n + p->env.n + nsb + 1, sizeof(char *));
	p->argv = calloc(d->args.n + 2, sizeof(char *));
	if (!p->envp || !p->argv)
		return -ENOMEM;
	size_t n = 0;
	for (size_t i = 0; i < benv->n; i++)
		if (!env_replaced_by_account(p, benv->v[i]) && !(sbenv && is_pledge_var(benv->v[i])))
			p->envp[n++] = benv->v[i];
	for (size_t i = 0; i < p->env.n; i++)
		p->envp[n++] = p->env.v[i];
	for (size_t i = 0; i < nsb; i++) /* what hv_sandbox_exec() would add */
		p->envp[n++] = (char *)sbenv[i];
	p->argv[0] = d->executable;
	for (size_t i = 0; i < d->args.n; i++)
		p->argv[i + 1] = d->args.v[i];
	return 0;
}

/* The unit's prepared sandbox for its current definition, made on its
 * first sandboxed spawn. NULL (and a spawn that builds it in the child, as
 * before) while an Unveil= path does not exist yet: the child creates
 * "c" ones as the service's account, and the next spawn prepares. */
static hv_sandbox_prepared *unit_sandbox(ss_unit *u, const hv_sandbox_spec *spec)
{
	const ss_svc_def *d = u->def;
	if (u->sandbox_def == d && u->sandbox)
		return u->sandbox;
	hv_sandbox_prepared_free(u->sandbox);
	u->sandbox = NULL;
	u->sandbox_def = NULL;
	for (size_t i = 0; i < d->unveil.n; i++) {
		const char *e = d->unveil.v[i], *colon = strrchr(e, ':');
		char path[PATH_MAX];
		if (!strncmp(e, "tcp:", 4))
			continue;
		/* A relative path means the instance's working directory. */
		if (e[0] != '/' || !colon || (size_t)(colon - e) >= sizeof path)
			return NULL;
		memcpy(path, e, (size_t)(colon - e));
		path[colon - e] = '\0';
		if (access(path, F_OK) < 0)
			return NULL;
	}
	hv_sandbox_spec whole = *spec;
	whole.unveils = d->unveil.n ? (const char *const *)d->unveil.v : NULL;
	uint64_t t0 = hv_now_ns();
	int r = hv_sandbox_prepare(&whole, d->executable, d->pledge != NULL, &u->sandbox);
	if (r < 0) {
		if (r != -EOPNOTSUPP)
			hv_log_warn("%s: sandbox not prepared (%s): built per instance", d->name, strerror(-r));
		return NULL;
	}
	u->sandbox_def = d;
	hv_log_debug("%s: sandbox prepared in %.0f us", d->name, (double)(hv_now_ns() - t0) / 1e3);
	return u->sandbox;
}

static int plan_sandbox(ss_unit *u, spawn_plan *p)
{
	const ss_svc_def *d = u->def;
	if (d->unveil.n) {
		p->unveils = calloc(d->unveil.n + 1, sizeof(char *));
		if (!p->unveils)
			return -ENOMEM;
		memcpy(p->unveils, d->unveil.v, d->unveil.n * sizeof(char *));
	}
	p->spec = (hv_sandbox_spec){
		.promises = d->pledge,
		.execpromises = d->exec_pledge,
		.unveils = p->unveils,
	};
	p->sandbox = d->pledge || d->exec_pledge || d->unveil.n;
	if (p->sandbox && (p->prepared = unit_sandbox(u, &p->spec)))
		p->ruleset = hv_sandbox_prepared_ruleset(p->prepared);
	/* With a Pledge=, a forbidden call is reported to the manager (which
	 * logs its name) before the kill. */
	if (d->pledge) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return hv_log_errno(-errno, "%s: socketpair", d->name);
		p->sup_parent = sv[0];
		p->sup_child = sv[1];
	}
	return 0;
}

static int plan_spawn(ss_unit *u, int conn, uid_t peer, bool spare, spawn_plan *p)
{
	plan_account(u, peer, p);
	int r = plan_fds(u, conn, spare, p);
	if (r < 0)
		return r;
	if ((r = plan_sandbox(u, p)) < 0)
		return r;
	r = plan_environment(u, conn, spare, p);
	if (r < 0)
		return hv_log_errno(r, "%s: cannot prepare the environment", u->def->name);
	return 0;
}

/* --- after the fork: bookkeeping --------------------------------------- */

/* The instance the loop watches; on failure the child is killed and
 * reaped here. The pidfd (if any) is taken. */
static int track_instance(ss_unit *u, pid_t pid, int *pidfd, uid_t peer, spawn_plan *p,
			  ss_instance **out)
{
	ss_manager *m = u->m;
	ss_instance *inst = calloc(1, sizeof *inst);
	int r = -ENOMEM;
	if (inst) {
		*inst = (ss_instance){ .unit = u,
				       .pid = pid,
				       .uid = peer,
				       .started_ns = hv_now_ns(),
				       .handoff_fd = -1,
				       .listener = -1,
				       .probe_fd = -1 };
		if (!u->boot_started_ns)
			u->boot_started_ns = inst->started_ns;
		r = *pidfd >= 0
			    ? hv_loop_add_child_pidfd(m->loop, pid, HV_TAKE_FD(*pidfd),
						      on_child_exit, inst, &inst->child)
			    : hv_loop_add_child(m->loop, pid, on_child_exit, inst, &inst->child);
		if (r < 0)
			hv_log_errno(r, "%s: cannot watch child", u->def->name);
	}
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(inst);
		return r;
	}
	inst->handoff_fd = HV_TAKE_FD(p->handoff_parent);
	inst->next = u->instances;
	u->instances = inst;
	u->ninstances++;
	*out = inst;
	return 0;
}

/* EOF on the error pipe: the exec happened. Otherwise the step that failed
 * and its errno, logged (the exit, 127, is handled as a failure when the
 * child is reaped). */
static int read_child_error(ss_unit *u, int errpipe)
{
	const ss_svc_def *d = u->def;
	struct spawn_err e;
	ssize_t n;
	do
		n = read(errpipe, &e, sizeof e);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof e)
		return 0;
	char line[512];
	const char *what = e.step > 0 && e.step <= STEP_EXEC ? step_names[e.step] : "?";
	const char *obj = d->executable;
	if (e.step == STEP_RLIMIT && e.detail >= 0 && e.detail < SS_LIMIT_COUNT)
		what = ss_limit_keys[e.detail];
	if (e.step == STEP_UNVEIL && e.detail >= 0 && (size_t)e.detail < d->unveil.n)
		obj = d->unveil.v[e.detail];
	snprintf(line, sizeof line, "failed to start: cannot %s%s (%s): %s",
		 e.step == STEP_RLIMIT ? "set " : "", what, obj, strerror(e.err));
	hv_log_error("%s: %s", d->name, line);
	ss_unit_log_add(u, line);
	return -e.err;
}

/* The instance runs its program: watch its sandbox listener, and its
 * readiness, watchdog and start timeout. */
static void instance_started(ss_instance *inst, spawn_plan *p, uint64_t t0)
{
	ss_unit *u = inst->unit;
	ss_manager *m = u->m;
	const ss_svc_def *d = u->def;
	if (p->sup_parent >= 0) {
		/* Sent before the exec, so it is queued by now (or never comes:
		 * promises without stdio fall back to the kernel's SIGSYS). */
		int l = hv_sandbox_recv_listener(p->sup_parent);
		if (l >= 0) {
			inst->listener = l;
			if (hv_loop_add_fd(m->loop, l, HV_IO_READ, listener_cb, inst, &inst->listener_watch) < 0)
				hv_log_warn("%s[%d]: sandbox violations will not be named", d->name,
					    (int)inst->pid);
		}
	}
	/* What a client waiting for its first reply pays in the manager. */
	hv_log_debug("%s: started pid %d (%.0f us from decision to exec)", d->name, (int)inst->pid,
		     (double)(hv_now_ns() - t0) / 1e3);
	/* A lazy service's readiness is its socket existing (a client already
	 * waits in it), so it needs no probe. */
	bool ready = d->readiness == SS_READY_EXEC ||
		     (d->readiness == SS_READY_SOCKET && d->lazy) || d->accept || d->per_user;
	if (!ready && d->readiness == SS_READY_SOCKET &&
	    hv_loop_add_timer(m->loop, 0, SS_PROBE_INTERVAL_NS, probe_cb, inst,
			      &inst->probe_timer) < 0)
		ready = true; /* cannot look: behave as Readiness=exec */
	if (d->watchdog_usec)
		hv_loop_add_timer(m->loop, d->watchdog_usec * 1000, 0, watchdog_cb, inst, &inst->watchdog);
	if (!ready && d->start_timeout_ns)
		hv_loop_add_timer(m->loop, d->start_timeout_ns, 0, start_timeout_cb, inst, &inst->start_timer);
	if (ready)
		ss_instance_ready(inst);
}

static int spawn(ss_unit *u, int conn, uid_t peer, bool spare)
{
	const ss_svc_def *d = u->def;
	uint64_t t0 = hv_now_ns();
	_hv_cleanup_(spawn_plan_done) spawn_plan p = SPAWN_PLAN_INIT;
	int r = plan_spawn(u, conn, peer, spare, &p);
	if (r < 0)
		return r;
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0)
		return -errno;
	_hv_close_ int errpipe_r = ep[0], errpipe_w = ep[1];
	child_args ca = { .p = &p,
			  .d = d,
			  .errfd = errpipe_w,
			  .sup_child = p.sup_child,
			  .listen_pid_idx = p.listen_pid_idx,
			  .wd_pid_idx = p.wd_pid_idx,
			  .spec = &p.spec,
			  .unveils = p.unveils,
			  .sandbox = p.sandbox,
			  .prepared = p.prepared };
	signals_to_reset(&ca.reset);
	_hv_close_ int pidfd = -1;
	/* Building a sandbox allocates: a real fork then; a prepared one does
	 * not, and runs on the manager's memory like an unsandboxed spawn. */
	pid_t pid = spawn_child(&ca, !p.sandbox || p.prepared, &pidfd);
	if (pid < 0)
		return hv_log_errno(pid, "%s: fork", d->name);

	/* --- parent --- */
	hv_close(&errpipe_w);
	hv_close(&p.handoff_child);
	hv_close(&p.sup_child);
	ss_instance *inst;
	r = track_instance(u, pid, &pidfd, peer, &p, &inst);
	if (r < 0)
		return r;
	if (spare) {
		inst->spare = true;
		u->nspares++;
	}
	r = read_child_error(u, errpipe_r);
	if (r < 0)
		return r;
	instance_started(inst, &p, t0);
	return 0;
}

int ss_spawn_instance(ss_unit *u, int conn, uid_t peer)
{
	return spawn(u, conn, peer, false);
}

int ss_spawn_spare(ss_unit *u)
{
	return spawn(u, -1, (uid_t)-1, true);
}
