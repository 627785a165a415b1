/* shutdown.c — the end of a shutdown as init, once the manager has stopped
 * the services in reverse dependency order: what is left gets SIGTERM,
 * then SIGKILL; buffers are synced; what init mounted is unmounted (and,
 * as the machine's init, / is remounted read-only); then reboot(2).
 *
 * In a PID namespace reboot(2) ends the namespace: the kernel kills its
 * init as if by SIGHUP (RB_AUTOBOOT) or SIGINT (RB_POWER_OFF, RB_HALT_SYSTEM),
 * and that is what the parent's waitpid() reports. So there a poweroff or
 * halt exits 0 (1 after the emergency shell) instead, and a reboot calls
 * reboot(2): the parent sees "killed by SIGHUP" (`unshare --fork` re-raises
 * it: exit status 129 in a shell) and may start the container again.
 */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

/* How long the remaining processes get after SIGTERM, then after SIGKILL. */
#define SS_FINAL_TERM_NS (5ull * 1000000000ull)
#define SS_FINAL_KILL_NS (5ull * 1000000000ull)

/* Our children (pid, state letter) from /proc: there is no list of them
 * without CONFIG_PROC_CHILDREN. Calls fn for each. */
static unsigned each_child(void (*fn)(pid_t pid, char state, void *ud), void *ud)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	pid_t me = getpid();
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char path[300], buf[512];
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = '\0';
		char *paren = strrchr(buf, ')');
		char state;
		int ppid;
		if (!paren || sscanf(paren + 1, " %c %d", &state, &ppid) != 2 || ppid != me)
			continue;
		n++;
		fn(atoi(e->d_name), state, ud);
	}
	closedir(d);
	return n;
}

struct reap_ctx {
	bool (*managed)(pid_t, void *);
	void *ud;
	unsigned reaped;
};

static void reap_one(pid_t pid, char state, void *ud)
{
	struct reap_ctx *c = ud;
	if (state != 'Z' || (c->managed && c->managed(pid, c->ud)))
		return;
	int st;
	if (waitpid(pid, &st, WNOHANG) == pid)
		c->reaped++;
}

unsigned ss_reap_orphans(bool (*pid_is_managed)(pid_t pid, void *ud), void *ud)
{
	struct reap_ctx c = { pid_is_managed, ud, 0 };
	/* Peek first (WNOWAIT): usually nothing, or an orphan, is waiting, and
	 * /proc needs scanning only when the first zombie is someone's. */
	for (;;) {
		siginfo_t si = { 0 };
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			return c.reaped;
		if (pid_is_managed && pid_is_managed(si.si_pid, ud))
			break;
		int st;
		if (waitpid(si.si_pid, &st, WNOHANG) != si.si_pid)
			break;
		c.reaped++;
	}
	each_child(reap_one, &c);
	return c.reaped;
}

static void kill_one(pid_t pid, char state, void *ud)
{
	kill(pid, *(int *)ud);
}

unsigned ss_kill_remaining(int sig)
{
	if (getpid() != 1)
		return each_child(kill_one, &sig);
	/* Everything in the namespace but us; count what there was. */
	unsigned n = each_child(kill_one, &(int){ 0 });
	kill(-1, sig);
	return n;
}

/* Reap until no child is left or the time is up; true when none is left. */
static bool reap_all(uint64_t timeout_ns)
{
	uint64_t end = hv_now_ns() + timeout_ns;
	for (;;) {
		int st;
		pid_t w;
		while ((w = waitpid(-1, &st, WNOHANG)) > 0)
			;
		if (w < 0 && errno == ECHILD)
			return true;
		if (hv_now_ns() >= end)
			return false;
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
}

static bool in_initial_pid_ns(void)
{
	struct stat st;
	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == 0xEFFFFFFCu; /* PROC_PID_INIT_INO */
}

static void unmount_all(const char *const *mounted, size_t n, bool machine)
{
	for (size_t i = n; i-- > 0;)
		if (umount2(mounted[i], MNT_DETACH) < 0)
			hv_log_warn("cannot unmount %s: %s", mounted[i], strerror(errno));
	/* Read-only / only as the machine's init: in a mount namespace the
	 * superblock is the host's. */
	if (machine && mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
		hv_log_warn("cannot remount / read-only: %s", strerror(errno));
}

int ss_shutdown_final(enum ss_power a, int exit_code, const char *const *mounted, size_t nmounted)
{
	bool pid1 = getpid() == 1, machine = pid1 && in_initial_pid_ns();
	unsigned n = ss_kill_remaining(SIGTERM);
	hv_log_info("%s: sent SIGTERM to %u remaining process(es)", ss_power_name(a), n);
	if (n && !reap_all(SS_FINAL_TERM_NS)) {
		hv_log_info("sending SIGKILL to the remaining processes");
		ss_kill_remaining(SIGKILL);
		reap_all(SS_FINAL_KILL_NS);
	} else if (!pid1) {
		reap_all(0);
	}
	sync();
	if (pid1)
		unmount_all(mounted, nmounted, machine);
	hv_log_info("%s", ss_power_name(a));
	if (!pid1)
		return exit_code;
	if (machine || a == SS_POWER_REBOOT) {
		int cmd = a == SS_POWER_REBOOT ? RB_AUTOBOOT : a == SS_POWER_HALT ? RB_HALT_SYSTEM : RB_POWER_OFF;
		reboot(cmd);
		hv_log_error("reboot(2) failed: %s", strerror(errno));
	}
	if (!machine)
		_exit(exit_code);
	for (;;) /* PID 1 must not exit: the kernel would panic */
		pause();
}
