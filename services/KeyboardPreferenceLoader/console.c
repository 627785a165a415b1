/* console.c — the Linux console's share of the preferences: its keymap
 * through kbd's loadkeys, its repeat delay and rate (KDKBDREP) and Num
 * Lock (KDSKBLED, KDSETLED), where the session has a console. Without one
 * (no VT, or not allowed to open it: a graphical or remote session, a
 * container) it is skipped with a log line.
 *
 * The console's ioctls are outside every pledge promise, and a seccomp
 * filter is inherited by what the process runs (loadkeys). So a helper
 * is forked before the sandbox (OpenBSD's privsep): it owns the console,
 * takes requests over a socketpair — checked XKB names and numbers only,
 * one datagram each — runs loadkeys and answers with a status line. The
 * main process is then confined without proc, exec or the console. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "KeyboardPreferenceLoader.h"

static const char *console; /* decided once, before the sandbox */
static bool decided;
static int helper_fd = -1;

const char *kpl_console_path(void)
{
	if (decided)
		return console;
	decided = true;
	const char *dev = kpl_opts.console;
	if (dev && strcmp(dev, "none") == 0) {
		kpl_set_status(&kpl.console_status, "skipped: --console none");
		return console = NULL;
	}
	/* Confined from exec by the manager (Pledge=): opening the console for
	 * writing would be a violation, and its helper would inherit a filter
	 * that refuses the console's ioctls. */
	if (getenv("HAVEN_PLEDGE")) {
		kpl_set_status(&kpl.console_status, "skipped: confined by the manager's Pledge= (the console "
						    "needs ioctls no promise allows)");
		hv_log_info("%s", kpl.console_status);
		return console = NULL;
	}
	if (dev)
		return console = dev; /* given: used as it is, failures reported */
	_hv_close_ int fd = open("/dev/tty0", O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	char type = 0;
	if (fd < 0 || ioctl(fd, KDGKBTYPE, &type) < 0) {
		kpl_set_status(&kpl.console_status, "skipped: no Linux console here (/dev/tty0: %s)",
			       fd < 0 ? strerror(errno) : "not a VT");
		hv_log_info("%s", kpl.console_status);
		return console = NULL;
	}
	return console = "/dev/tty0";
}

/* --- the helper ------------------------------------------------------------------ */

/* KDKBDREP and Num Lock: what needs no program. */
static void console_ioctls(unsigned delay, unsigned rate, int num_lock, char *err, size_t size)
{
	_hv_close_ int fd = open(console, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, size, "; %s: %s", console, strerror(errno));
		return;
	}
	if (delay || rate) {
		struct kbd_repeat rep = {.delay = delay ? (int)delay : -1, .period = rate ? (int)(1000 / rate) : -1};
		if (ioctl(fd, KDKBDREP, &rep) < 0)
			snprintf(err, size, "; repeat: %s", strerror(errno));
	}
	char flags;
	if (num_lock >= 0 && (ioctl(fd, KDGKBLED, &flags) < 0 ||
			      ioctl(fd, KDSKBLED, (char)(num_lock ? flags | K_NUMLOCK : flags & ~K_NUMLOCK)) < 0))
		snprintf(err + strlen(err), size - strlen(err), "; Num Lock: %s", strerror(errno));
}

static int run_loadkeys(const char *map)
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 1);
		execl(kpl_opts.loadkeys, "loadkeys", "-q", "-C", console, map, (char *)NULL);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* One request: "LAYOUT VARIANT DELAY RATE NUMLOCK" ("-" for no variant). */
static void serve(int fd)
{
	char req[512], layout[128], variant[128], reply[1024];
	ssize_t n;
	while ((n = recv(fd, req, sizeof(req) - 1, 0)) > 0) {
		req[n] = '\0';
		unsigned delay, rate;
		int num_lock;
		if (sscanf(req, "%127s %127s %u %u %d", layout, variant, &delay, &rate, &num_lock) != 5)
			_exit(2);
		char map[260], err[256] = "";
		if (snprintf(map, sizeof(map), "%s%s%s", layout, strcmp(variant, "-") ? "-" : "",
			     strcmp(variant, "-") ? variant : "") < 0)
			_exit(2);
		console_ioctls(delay, rate, num_lock, err, sizeof(err));
		int rc = run_loadkeys(map);
		int len = rc == 0 ? snprintf(reply, sizeof(reply), "applied (keymap %s)%s", map, err)
				  : snprintf(reply, sizeof(reply),
					     "failed: loadkeys %s exited %d, the console keeps its keymap%s", map, rc, err);
		if (len < 0 || send(fd, reply, strlen(reply), 0) < 0)
			_exit(1);
	}
	_exit(0);
}

static void on_reply(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	(void)loop, (void)events, (void)ud;
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (n > 0) {
		buf[n] = '\0';
		kpl_set_status(&kpl.console_status, "%s", buf);
		hv_log_info("console %s: %s", console, buf);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		kpl_set_status(&kpl.console_status, "failed: the console helper is gone");
		hv_log_warn("console helper gone");
		hv_watch_free(kpl.console_watch);
		kpl.console_watch = NULL;
	}
}

int kpl_console_start(hv_loop *loop)
{
	if (!kpl_console_path())
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return hv_log_errno(-errno, "Failed to make the console helper's socket");
	pid_t pid = fork();
	if (pid < 0)
		return hv_log_errno(-errno, "Failed to start the console helper");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(sv[0]);
		serve(sv[1]);
	}
	close(sv[1]);
	helper_fd = sv[0];
	return hv_loop_add_fd(loop, helper_fd, HV_IO_READ, on_reply, NULL, &kpl.console_watch);
}

void kpl_console_apply(const struct kbd_prefs *p)
{
	if (helper_fd < 0 || !kpl.console_watch)
		return;
	char req[512];
	/* The names were checked (kbd_prefs_check): no spaces in them. */
	int n = snprintf(req, sizeof(req), "%s %s %u %u %d", p->layout, p->variant && *p->variant ? p->variant : "-",
			 p->delay, p->rate, p->num_lock);
	if (n < 0 || (size_t)n >= sizeof(req) || send(helper_fd, req, (size_t)n, MSG_DONTWAIT) < 0)
		kpl_set_status(&kpl.console_status, "failed: cannot reach the console helper");
}

void kpl_console_stop(void)
{
	hv_watch_free(kpl.console_watch);
	kpl.console_watch = NULL;
	if (helper_fd >= 0)
		close(helper_fd); /* the helper sees EOF and exits */
	helper_fd = -1;
}
