/* init.c — SystemServer as the init: PID 1 of the machine or of a PID
 * namespace (detected), or `--init`. Before the manager: the console on
 * fds 0–2, the missing API filesystems, the hostname, lo, the boot mode
 * (haven.mode= on the kernel command line), Ctrl-Alt-Del as SIGINT. While it
 * runs: orphans reaped, SIGTERM/SIGINT/SIGPWR/SIGUSR1/SIGUSR2 with init's
 * meaning. After it: the end of the shutdown (shutdown.c), or — when the
 * manager failed — the emergency shell, never an exit that would panic the
 * kernel. The reaper is also used outside init: a manager is always its
 * services' subreaper.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "run.h"

static struct {
	bool active;
	enum ss_power on_sigterm, requested;
	uint64_t t0_ns;
	ss_manager *m;
	char mode[64];
	const char *mounted[8];
	size_t nmounted;
} g = { .on_sigterm = SS_POWER_OFF };

int ss_init_configure(const ss_init_opts *o)
{
	g.active = o->init;
	return o->on_sigterm ? ss_power_parse(o->on_sigterm, &g.on_sigterm) : 0;
}

bool ss_init_active(void)
{
	return g.active;
}

int ss_init_request(enum ss_power a)
{
	if (!g.active)
		return -EOPNOTSUPP;
	if (g.requested == SS_POWER_NONE)
		g.requested = a;
	hv_log_info("%s requested", ss_power_name(a));
	return 0;
}

uint64_t ss_init_boot_us(uint64_t t_ns)
{
	return t_ns && t_ns > g.t0_ns ? (t_ns - g.t0_ns) / 1000 : t_ns ? 1 : 0;
}

/* --- orphans --------------------------------------------------------------- */

static bool is_instance(pid_t pid, void *ud)
{
	ss_manager *m = ud;
	for (size_t i = 0; i < ss_manager_unit_count(m); i++)
		for (ss_instance *in = ss_manager_unit_at(m, i)->instances; in; in = in->next)
			if (in->pid == pid)
				return true;
	return false;
}

/* Instances are reaped through their pidfds (manager.h); anything else that
 * exits as our child is an orphan re-parented to us. */
static void on_sigchld(hv_loop *loop, int signo, void *userdata)
{
	unsigned n = ss_reap_orphans(is_instance, userdata);
	if (n)
		hv_log_debug("reaped %u orphan(s)", n);
}

static void on_sigpwr(hv_loop *loop, int signo, void *userdata)
{
	hv_log_info("received %s", strsignal(signo));
	ss_init_request(signo == SIGUSR2 ? SS_POWER_HALT : SS_POWER_OFF);
	ss_manager_shutdown(userdata);
}

static void on_sigusr1(hv_loop *loop, int signo, void *userdata)
{
	hv_log_info("SIGUSR1: reloading definitions");
	ss_manager_reload(userdata);
}

int ss_init_watch(hv_loop *loop, ss_manager *m)
{
	g.t0_ns = hv_now_ns();
	g.m = m;
	/* PID 1 is every orphan's reaper already; elsewhere ask to be the
	 * reaper of our services' orphans (a daemon's double fork). */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		hv_log_warn("cannot become a child subreaper: %s", strerror(errno));
	int r = hv_loop_add_signal(loop, SIGCHLD, on_sigchld, m, NULL);
	if (r < 0 || !g.active)
		return r;
	if ((r = hv_loop_add_signal(loop, SIGPWR, on_sigpwr, m, NULL)) < 0 ||
	    (r = hv_loop_add_signal(loop, SIGUSR2, on_sigpwr, m, NULL)) < 0)
		return r;
	return hv_loop_add_signal(loop, SIGUSR1, on_sigusr1, m, NULL);
}

void ss_init_on_stop_signal(int signo)
{
	if (g.active)
		ss_init_request(signo == SIGINT ? SS_POWER_REBOOT : g.on_sigterm);
}

/* --- before the manager ------------------------------------------------------ */

/* The kernel's log as well as the console, for what happens before any
 * service exists — only as the machine's init: a container's lines
 * belong to its console, not the host's kernel log. */
__attribute__((format(printf, 1, 2))) static void early_log(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	hv_log_info("%s", line);
	struct stat st;
	if (getpid() != 1 || stat("/proc/self/ns/pid", &st) < 0 || st.st_ino != 0xEFFFFFFCu)
		return;
	_hv_close_ int k = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (k >= 0)
		dprintf(k, "<6>SystemServer: %s\n", line);
}

/* The kernel starts init with nothing open when there is no console. */
static void console_stdio(void)
{
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) >= 0)
			continue;
		int c = open("/dev/console", O_RDWR | O_NOCTTY);
		if (c < 0)
			c = open("/dev/null", O_RDWR);
		if (c >= 0 && c != fd) {
			dup2(c, fd);
			close(c);
		}
	}
}

static bool is_mount_point(const char *path)
{
	struct stat a, b;
	char parent[256];
	snprintf(parent, sizeof parent, "%s/..", path);
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

static bool is_empty_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return errno == ENOENT;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

/* What a system needs mounted, when it is not. /run and /tmp get a tmpfs
 * only when they are empty: never hide what is there. */
static const struct api_mount {
	const char *path, *type, *data;
	unsigned long flags;
	long magic; /* 0: "not a mount point" decides */
	bool only_empty;
} api_mounts[] = {
	{ "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, PROC_SUPER_MAGIC, false },
	{ "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC, SYSFS_MAGIC, false },
	{ "/dev", "devtmpfs", "mode=0755", MS_NOSUID, 0, false },
	{ "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620", MS_NOSUID | MS_NOEXEC, DEVPTS_SUPER_MAGIC, false },
	{ "/dev/shm", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV, 0, false },
	{ "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV, 0, true },
	{ "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV, 0, true },
};

static void mount_api_filesystems(void)
{
	for (size_t i = 0; i < HV_ARRAY_SIZE(api_mounts); i++) {
		const struct api_mount *am = &api_mounts[i];
		struct statfs sf;
		bool there = am->magic ? statfs(am->path, &sf) == 0 && sf.f_type == am->magic
				       : is_mount_point(am->path);
		if (there || (am->only_empty && !is_empty_dir(am->path)))
			continue;
		if (mkdir(am->path, 0755) < 0 && errno != EEXIST) {
			early_log("cannot create %s: %s", am->path, strerror(errno));
			continue;
		}
		if (mount(am->type, am->path, am->type, am->flags, am->data) < 0) {
			early_log("cannot mount %s on %s: %s", am->type, am->path, strerror(errno));
			continue;
		}
		early_log("mounted %s on %s", am->type, am->path);
		if (g.nmounted < HV_ARRAY_SIZE(g.mounted))
			g.mounted[g.nmounted++] = am->path;
	}
}

static void set_hostname(void)
{
	_hv_free_ uint8_t *buf = NULL;
	size_t len;
	if (hv_read_file_at(AT_FDCWD, "/etc/hostname", 0, 256, &buf, &len) < 0)
		return;
	char *name = (char *)buf + strspn((char *)buf, " \t\n");
	name[strcspn(name, " \t\n#")] = '\0';
	if (!*name)
		return;
	if (sethostname(name, strlen(name)) < 0)
		early_log("cannot set the hostname to %s: %s", name, strerror(errno));
	else
		early_log("hostname %s", name);
}

static void loopback_up(void)
{
	_hv_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return early_log("no loopback interface: %s", strerror(errno));
	if (ifr.ifr_flags & IFF_UP)
		return;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return early_log("cannot bring up lo: %s", strerror(errno));
	early_log("lo up");
}

/* --mode, else haven.mode= on the kernel command line, else the manager's
 * default. */
static void boot_mode(ss_manager_opts *mo)
{
	/* Read, not sized by fstat: /proc files say they are empty. */
	char buf[4096];
	_hv_close_ int fd = mo->mode ? -1 : open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	if (n >= 0) {
		buf[n] = '\0';
		int r = ss_init_mode_from_cmdline(buf, g.mode, sizeof g.mode);
		if (r == 0)
			mo->mode = g.mode;
		else if (r == -EINVAL)
			early_log("ignoring a bad haven.mode= on the kernel command line");
	}
	early_log("boot mode %s", mo->mode ? mo->mode : "default");
}

/* --- the emergency shell ----------------------------------------------------- */

/* A shell on the console instead of an exit: as PID 1 an exit panics the
 * kernel (or ends the container without a word). Orphans are reaped while
 * it runs. Returns when it exits. */
static void emergency_shell(const char *shell, const char *why)
{
	early_log("%s: %s", why, shell && strcmp(shell, "none") ? "starting the emergency shell" : "no emergency shell");
	if (!shell || !strcmp(shell, "none"))
		return;
	sigset_t none;
	sigemptyset(&none);
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		ioctl(0, TIOCSCTTY, 0);
		setenv("HAVEN_EMERGENCY", why, 1);
		execl(shell, shell, (char *)NULL);
		fprintf(stderr, "SystemServer: cannot run %s: %s\n", shell, strerror(errno));
		_exit(127);
	}
	if (pid < 0)
		return early_log("cannot fork the emergency shell: %s", strerror(errno));
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, 0);
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
	}
	early_log("the emergency shell exited");
}

/* A crash of PID 1 would panic the kernel (or silently end the container):
 * instead the emergency shell, from the signal handler (fork, execve and
 * waitpid are async-signal-safe), then a reboot — or, in a PID namespace,
 * exit status 1. Only as PID 1: elsewhere a crash dumps core as usual. */
static char crash_shell[256];

static void on_crash(int sig)
{
	static const char msg[] = "SystemServer: fatal signal as PID 1; emergency shell\n";
	if (write(2, msg, sizeof msg - 1) < 0) {
		/* nothing to do: the console is gone */
	}
	pid_t pid = crash_shell[0] ? fork() : -1;
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		char *const argv[] = { crash_shell, NULL };
		char *const envp[] = { "HAVEN_EMERGENCY=SystemServer crashed",
				       "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
		execve(crash_shell, argv, envp);
		_exit(127);
	}
	for (pid_t w = 0; pid > 0 && w != pid;)
		if ((w = waitpid(-1, NULL, 0)) < 0 && errno != EINTR)
			break;
	sync();
	struct stat st;
	if (stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == 0xEFFFFFFCu)
		reboot(RB_AUTOBOOT);
	_exit(1);
}

static void catch_crashes(const char *shell)
{
	if (getpid() != 1)
		return;
	if (shell && strcmp(shell, "none"))
		snprintf(crash_shell, sizeof crash_shell, "%s", shell);
	struct sigaction sa = { .sa_handler = on_crash };
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT)
			sigaction(sig, &sa, NULL);
}

int ss_init_main(ss_run_opts *o)
{
	console_stdio();
	if (ss_init_configure(&o->init) < 0) {
		hv_log_error("bad --on-sigterm \"%s\" (poweroff, reboot or halt); using poweroff",
			     o->init.on_sigterm);
		g.on_sigterm = SS_POWER_OFF;
	}
	g.active = true;
	catch_crashes(o->init.emergency_shell);
	early_log("starting as init (pid %d)", (int)getpid());
	/* A fresh system's: never the host's when --init is tried by hand. */
	if (getpid() == 1) {
		mount_api_filesystems();
		set_hostname();
		loopback_up();
	} else {
		early_log("not PID 1: leaving mounts, hostname and lo alone");
	}
	boot_mode(&o->manager);
	/* Ctrl-Alt-Del sends us SIGINT instead of rebooting at once. */
	if (getpid() == 1)
		reboot(RB_DISABLE_CAD);
	int rc = ss_run(&o->manager);
	enum ss_power a = g.requested;
	if (a == SS_POWER_NONE && rc != 0) {
		emergency_shell(o->init.emergency_shell, "the service manager failed");
		a = SS_POWER_OFF;
	} else if (a == SS_POWER_NONE) {
		a = SS_POWER_OFF; /* svc shutdown */
	}
	return ss_shutdown_final(a, rc ? 1 : 0, g.mounted, g.nmounted);
}
