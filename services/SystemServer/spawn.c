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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

extern char **environ;

enum spawn_step {
	STEP_FDS = 1, STEP_SETSID, STEP_CHDIR, STEP_PRIORITY, STEP_RLIMIT, STEP_GROUPS, STEP_GID, STEP_UID,
	STEP_UNVEIL, STEP_SANDBOX, STEP_EXEC
};
static const char *const step_names[] = {
	[STEP_FDS] = "arrange fds", [STEP_SETSID] = "setsid", [STEP_CHDIR] = "chdir to WorkingDirectory",
	[STEP_PRIORITY] = "set Priority", [STEP_RLIMIT] = "set resource limit", [STEP_GROUPS] = "clear supplementary groups",
	[STEP_GID] = "setgid", [STEP_UID] = "setuid", [STEP_UNVEIL] = "create the Unveil= directory",
	[STEP_SANDBOX] = "apply the sandbox",
	[STEP_EXEC] = "exec",
};

struct spawn_err {
	int step, err, detail; /* detail: STEP_RLIMIT's enum ss_limit, STEP_UNVEIL's entry */
};

static const char *const managed_env[] = {
	"LISTEN_FDS=", "LISTEN_PID=", "LISTEN_FDNAMES=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=",
	"WATCHDOG_PID=", "SOCKET_TAKEOVER=", "HAVEN_HANDOFF_FD=", "HAVEN_SERVICE=", "HAVEN_PORTAL_DIR=",
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

static void probe_cb(hv_loop *loop, hv_timer *t, void *userdata)
{
	ss_instance *i = userdata;
	ss_unit *u = i->unit;
	if (i->ready || u->listen_fds[0] < 0)
		return;
	if (i->probe_fd < 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		snprintf(sa.sun_path, sizeof sa.sun_path, "%s", u->def->sockets.v[0]);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
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
	hv_log_debug("%s[%d]: accepted on its socket: ready", u->def->name, (int)i->pid);
	hv_timer_disarm(t);
	hv_close(&i->probe_fd); /* the service sees a client that left at once */
	i->ready = true;
	ss_manager_schedule(u->m);
}

typedef struct spawn_plan {
	hv_strv env;  /* what this spawn adds (owned) */
	char **envp;  /* unit's base environment + env, for execve */
	char **argv;
	int srcs[64];
	int nsrc;
	int stdin_fd, stdout_fd;
	int handoff_child;
	bool drop;
	uid_t uid;
	gid_t gid;
} spawn_plan;

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
	int floor = 3 + a->p->nsrc + 1;
	int tmp[64], tin = lift(a->p->stdin_fd, floor), tout = lift(a->p->stdout_fd, floor);
	int thand = lift(a->p->handoff_child, floor);
	int tsup = lift(a->sup_child, floor); /* kept (CLOEXEC below) until the exec */
	(void)tsup;
	for (int i = 0; i < a->p->nsrc; i++)
		if ((tmp[i] = lift(a->p->srcs[i], floor)) < 0)
			child_fail(a->errfd, STEP_FDS, errno);
	for (int i = 0; i < a->p->nsrc; i++)
		if (dup2(tmp[i], 3 + i) < 0)
			child_fail(a->errfd, STEP_FDS, errno);
	if (thand >= 0 && dup2(thand, 3 + a->p->nsrc) < 0)
		child_fail(a->errfd, STEP_FDS, errno);
	if (tin >= 0 && dup2(tin, 0) < 0)
		child_fail(a->errfd, STEP_FDS, errno);
	if (tout >= 0 && (dup2(tout, 1) < 0 || dup2(tout, 2) < 0))
		child_fail(a->errfd, STEP_FDS, errno);
	/* Everything else closes at exec (the error pipe included). */
	syscall(SYS_close_range, 3 + a->p->nsrc + (thand >= 0), ~0u, 4 /* CLOSE_RANGE_CLOEXEC */);
	char buf[16];
	snprintf(buf, sizeof buf, "%d", (int)getpid());
	if (a->listen_pid_idx)
		memcpy(a->p->env.v[a->listen_pid_idx - 1] + strlen("LISTEN_PID="), buf, strlen(buf) + 1);
	if (a->wd_pid_idx)
		memcpy(a->p->env.v[a->wd_pid_idx - 1] + strlen("WATCHDOG_PID="), buf, strlen(buf) + 1);
	if (setsid() < 0)
		child_fail(a->errfd, STEP_SETSID, errno);
	if (chdir(a->d->workdir) < 0)
		child_fail(a->errfd, STEP_CHDIR, errno);
	if (a->d->priority && setpriority(PRIO_PROCESS, 0, a->d->priority) < 0)
		child_fail(a->errfd, STEP_PRIORITY, errno);
	/* Before the uid drop: only root may raise a hard limit. The manager
	 * raised its own open-file limit; a service gets the one it had. */
	if (service_nofile_known && !a->d->limits[SS_LIMIT_NOFILE].set)
		setrlimit(RLIMIT_NOFILE, &service_nofile);
	for (int l = 0; l < SS_LIMIT_COUNT; l++) {
		const ss_svc_limit *lim = &a->d->limits[l];
		struct rlimit rl = {(rlim_t)lim->soft, (rlim_t)lim->hard};
		if (lim->set && setrlimit(ss_limit_resources[l], &rl) < 0)
			child_fail_detail(a->errfd, STEP_RLIMIT, errno, l);
	}
	if (a->p->drop) {
		/* Order matters: groups and gid need privilege we give up with uid. */
		/* Raw system calls: glibc's wrappers would broadcast the change
		 * to the threads it knows, which are the parent's when the
		 * address space is shared; this process has one thread. */
		if (syscall(SYS_setgroups, 0, NULL) < 0)
			child_fail(a->errfd, STEP_GROUPS, errno);
		if (syscall(SYS_setresgid, a->p->gid, a->p->gid, a->p->gid) < 0)
			child_fail(a->errfd, STEP_GID, errno);
		if (syscall(SYS_setresuid, a->p->uid, a->p->uid, a->p->uid) < 0)
			child_fail(a->errfd, STEP_UID, errno);
	}
	if (a->sandbox) {
		int uerr = 0, bad = a->unveils ? prepare_unveils(a->unveils, &uerr) : -1;
		if (bad >= 0)
			child_fail_detail(a->errfd, STEP_UNVEIL, uerr, bad);
		int q = tsup >= 0 ? hv_sandbox_exec_supervised(a->spec, a->d->executable, a->p->argv, a->p->envp, tsup)
				  : hv_sandbox_exec(a->spec, a->d->executable, a->p->argv, a->p->envp);
		child_fail(a->errfd, STEP_SANDBOX, -q);
	}
	execve(a->d->executable, a->p->argv, a->p->envp);
	child_fail(a->errfd, STEP_EXEC, errno);
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

int ss_spawn_instance(ss_unit *u, int conn, uid_t peer)
{
	ss_manager *m = u->m;
	const ss_svc_def *d = u->def;
	uint64_t t0 = hv_now_ns();
	spawn_plan p = {.stdin_fd = -1, .stdout_fd = -1, .handoff_child = -1};
	int r = 0;
	_hv_close_ int handoff_parent = -1, errpipe_r = -1, errpipe_w = -1, file_fd = -1;
	_hv_close_ int sup_parent = -1, sup_child = -1;
	char *s = NULL;
	const char **unveils = NULL;

	/* Which account. */
	struct passwd *pw = NULL;
	if (d->has_user) {
		p.uid = d->uid;
		p.gid = d->gid;
		p.drop = true;
		pw = getpwuid(d->uid);
	} else if (m->root && peer != (uid_t)-1 && peer != 0 && (d->accept || d->per_user)) {
		/* SerenityOS: a per-connection instance runs as the peer. */
		pw = getpwuid(peer);
		p.uid = peer;
		p.gid = pw ? pw->pw_gid : (gid_t)peer;
		p.drop = true;
	} else if (d->has_group) {
		p.uid = getuid();
		p.gid = d->gid;
		p.drop = true;
	}
	if (p.drop && !m->root) {
		if (p.uid != getuid() || p.gid != getgid())
			hv_log_warn("%s: User=/Group= ignored: the manager is not root", d->name);
		p.drop = false;
	}

	/* fds handed over: the accepted connection or the listening sockets. */
	if (conn >= 0) {
		p.srcs[p.nsrc++] = conn;
	} else {
		for (size_t i = 0; i < d->sockets.n && p.nsrc < 60; i++)
			if (u->listen_fds[i] >= 0)
				p.srcs[p.nsrc++] = u->listen_fds[i];
	}
	if (d->per_user) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return hv_log_errno(-errno, "%s: socketpair", d->name);
		handoff_parent = sv[0];
		p.handoff_child = sv[1];
	}
	if (m->null_fd < 0 && (m->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
		return hv_log_errno(-errno, "Failed to open /dev/null");
	int null_fd = m->null_fd;
	p.stdin_fd = null_fd;
	if (d->stdio == SS_STDIO_LOG && ss_unit_logs_open(u) < 0)
		hv_log_warn("%s: output not captured (no log pipe)", d->name);
	switch (d->stdio) {
	case SS_STDIO_LOG:
		p.stdout_fd = u->log_wfd >= 0 ? u->log_wfd : null_fd;
		break;
	case SS_STDIO_NULL:
		p.stdout_fd = null_fd;
		break;
	case SS_STDIO_INHERIT:
		p.stdin_fd = p.stdout_fd = -1;
		break;
	case SS_STDIO_FILE:
		file_fd = open(d->stdio_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (file_fd < 0) {
			ss_unit_set_failed(u, "cannot open StdIO=%s: %s", d->stdio_path, strerror(errno));
			return -errno;
		}
		p.stdout_fd = file_fd;
		break;
	}

	/* Environment: a base prepared once (the manager never changes its own
	 * environment) - shared by every unit without Environment=, per
	 * definition otherwise - then this spawn's own variables. */
	hv_strv *benv = d->env.n ? &u->base_env : &m->base_env;
	if (d->env.n ? u->base_env_def != d : !m->base_env_ready) {
		hv_strv_clear(benv);
		for (char **e = environ; *e && r == 0; e++)
			if (!env_overridden(*e, &d->env))
				r = hv_strv_push(benv, *e);
		for (size_t i = 0; i < d->env.n && r == 0; i++)
			r = hv_strv_push(benv, d->env.v[i]);
		if (r < 0)
			hv_strv_clear(benv);
		else if (d->env.n)
			u->base_env_def = d;
		else
			m->base_env_ready = true;
	}
	/* PIDs are written by the child into these reserved slots. */
	size_t listen_pid_idx = 0, wd_pid_idx = 0;
#define PUSHF(...)                                                                         \
	do {                                                                               \
		if (r == 0 && asprintf(&s, __VA_ARGS__) < 0)                               \
			r = -ENOMEM;                                                       \
		if (r == 0)                                                                \
			r = hv_strv_push(&p.env, s);                                       \
		free(s);                                                           \
		s = NULL;                                                          \
	} while (0)
	if (p.nsrc > 0) {
		PUSHF("LISTEN_FDS=%d", p.nsrc);
		listen_pid_idx = p.env.n + 1; /* 1-based: 0 means none */
		PUSHF("LISTEN_PID=%-12s", "");
		char names[2048] = "", takeover[4096] = "";
		for (int i = 0; i < p.nsrc; i++) {
			const char *path = conn >= 0 ? d->sockets.v[0] : d->sockets.v[i];
			const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
			snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ":" : "",
				 conn >= 0 ? "connection" : base);
			snprintf(takeover + strlen(takeover), sizeof takeover - strlen(takeover), "%s%s:%d",
				 i ? " " : "", path, 3 + i);
		}
		PUSHF("LISTEN_FDNAMES=%s", names);
		PUSHF("SOCKET_TAKEOVER=%s", takeover);
	}
	if (p.handoff_child >= 0)
		PUSHF("HAVEN_HANDOFF_FD=%d", 3 + p.nsrc);
	PUSHF("NOTIFY_SOCKET=%s", m->notify_path);
	if (d->watchdog_usec) {
		PUSHF("WATCHDOG_USEC=%llu", (unsigned long long)d->watchdog_usec);
		wd_pid_idx = p.env.n + 1;
		PUSHF("WATCHDOG_PID=%-12s", "");
	}
	PUSHF("HAVEN_SERVICE=%s", d->name);
	PUSHF("HAVEN_PORTAL_DIR=%s", m->portal_dir);
	if (p.drop && pw) {
		PUSHF("HOME=%s", pw->pw_dir);
		PUSHF("USER=%s", pw->pw_name);
		PUSHF("LOGNAME=%s", pw->pw_name);
	}
#undef PUSHF
	p.envp = calloc(benv->n + p.env.n + 1, sizeof(char *));
	if (r == 0 && !p.envp)
		r = -ENOMEM;
	if (r == 0) {
		size_t n = 0;
		for (size_t i = 0; i < benv->n; i++) {
			const char *e = benv->v[i];
			/* A dropped-to account's HOME/USER/LOGNAME win over the
			 * manager's, and its XDG dirs are the defaults under its
			 * HOME (as the definition's $XDG_CONFIG_HOME … meant). */
			if (p.drop && pw &&
			    (!strncmp(e, "HOME=", 5) || !strncmp(e, "USER=", 5) || !strncmp(e, "LOGNAME=", 8) ||
			     (pw->pw_uid != getuid() &&
			      (!strncmp(e, "XDG_CONFIG_HOME=", 16) || !strncmp(e, "XDG_DATA_HOME=", 14) ||
			       !strncmp(e, "XDG_STATE_HOME=", 15) || !strncmp(e, "XDG_CACHE_HOME=", 15)))))
				continue;
			p.envp[n++] = benv->v[i];
		}
		for (size_t i = 0; i < p.env.n; i++)
			p.envp[n++] = p.env.v[i];
	}
	/* argv */
	p.argv = calloc(d->args.n + 2, sizeof(char *));
	if (r == 0 && !p.argv)
		r = -ENOMEM;
	if (r < 0) {
		hv_strv_clear(&p.env);
		free(p.envp);
		free(p.argv);
		hv_close(&p.handoff_child);
		return hv_log_errno(r, "%s: cannot prepare the environment", d->name);
	}
	p.argv[0] = d->executable;
	for (size_t i = 0; i < d->args.n; i++)
		p.argv[i + 1] = d->args.v[i];

	if (d->unveil.n) {
		unveils = calloc(d->unveil.n + 1, sizeof(char *));
		if (!unveils) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(unveils, d->unveil.v, d->unveil.n * sizeof(char *));
	}
	hv_sandbox_spec spec = {
		.promises = d->pledge,
		.execpromises = d->exec_pledge,
		.unveils = unveils,
	};
	bool sandbox = d->pledge || d->exec_pledge || d->unveil.n;
	/* With a Pledge=, a forbidden call is reported to the manager (which
	 * logs its name) before the kill. */
	if (d->pledge) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
			r = hv_log_errno(-errno, "%s: socketpair", d->name);
			goto out;
		}
		sup_parent = sv[0];
		sup_child = sv[1];
	}

	sigset_t reset;
	signals_to_reset(&reset);
	int ep[2];
	if (pipe2(ep, O_CLOEXEC) < 0) {
		r = -errno;
		goto out;
	}
	errpipe_r = ep[0];
	errpipe_w = ep[1];

	child_args ca = {.p = &p,
			 .d = d,
			 .errfd = errpipe_w,
			 .sup_child = sup_child,
			 .listen_pid_idx = listen_pid_idx,
			 .wd_pid_idx = wd_pid_idx,
			 .reset = reset};
	ca.spec = &spec;
	ca.unveils = unveils;
	ca.sandbox = sandbox;
	bool shared_vm = !sandbox; /* lib/sandbox allocates: a real fork then */
	int pidfd = -1;
	pid_t pid = spawn_child(&ca, shared_vm, &pidfd);
	if (pid < 0) {
		r = hv_log_errno(pid, "%s: fork", d->name);
		goto out;
	}

	/* --- parent --- */
	hv_close(&errpipe_w);
	hv_close(&p.handoff_child);
	hv_close(&sup_child);
	ss_instance *inst = calloc(1, sizeof *inst);
	if (!inst) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		r = -ENOMEM;
		goto out;
	}
	*inst = (ss_instance){.unit = u,
			      .pid = pid,
			      .uid = peer,
			      .started_ns = hv_now_ns(),
			      .handoff_fd = -1,
			      .listener = -1,
			      .probe_fd = -1};
	r = pidfd >= 0 ? hv_loop_add_child_pidfd(m->loop, pid, HV_TAKE_FD(pidfd), on_child_exit, inst, &inst->child)
		       : hv_loop_add_child(m->loop, pid, on_child_exit, inst, &inst->child);
	if (r < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		free(inst);
		hv_log_errno(r, "%s: cannot watch child", d->name);
		goto out;
	}
	inst->handoff_fd = HV_TAKE_FD(handoff_parent);
	inst->next = u->instances;
	u->instances = inst;
	u->ninstances++;

	struct spawn_err e;
	ssize_t n;
	do
		n = read(errpipe_r, &e, sizeof e);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof e) {
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
		r = -e.err; /* the exit (127) is handled as a failure when reaped */
		goto out;
	}
	if (sup_parent >= 0) {
		/* Sent before the exec, so it is queued by now (or never comes:
		 * promises without stdio fall back to the kernel's SIGSYS). */
		int l = hv_sandbox_recv_listener(sup_parent);
		if (l >= 0) {
			inst->listener = l;
			if (hv_loop_add_fd(m->loop, l, HV_IO_READ, listener_cb, inst, &inst->listener_watch) < 0)
				hv_log_warn("%s[%d]: sandbox violations will not be named", d->name, (int)pid);
		}
	}
	/* What a client waiting for its first reply pays in the manager. */
	hv_log_debug("%s: started pid %d (%.0f us from decision to exec)", d->name, (int)pid,
		     (double)(hv_now_ns() - t0) / 1e3);
	/* A lazy service's readiness is its socket existing (a client already
	 * waits in it), so it needs no probe. */
	if (d->readiness == SS_READY_EXEC || (d->readiness == SS_READY_SOCKET && d->lazy) || d->accept ||
	    d->per_user)
		inst->ready = true;
	if (!inst->ready && d->readiness == SS_READY_SOCKET &&
	    hv_loop_add_timer(m->loop, 0, SS_PROBE_INTERVAL_NS, probe_cb, inst, &inst->probe_timer) < 0)
		inst->ready = true; /* cannot look: behave as Readiness=exec */
	if (d->watchdog_usec)
		hv_loop_add_timer(m->loop, d->watchdog_usec * 1000, 0, watchdog_cb, inst, &inst->watchdog);
	if (!inst->ready && d->start_timeout_ns)
		hv_loop_add_timer(m->loop, d->start_timeout_ns, 0, start_timeout_cb, inst, &inst->start_timer);
	if (inst->ready)
		ss_manager_schedule(m);
	r = 0;
out:
	free(unveils);
	hv_close(&p.handoff_child);
	hv_strv_clear(&p.env);
	free(p.envp);
	free(p.argv);
	return r;
}
