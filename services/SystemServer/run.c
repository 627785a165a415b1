/* run.c — SystemServer as a program: the command line (an hv_options
 * table) and its defaults (the build tree's definitions and binaries when
 * run from it), `--check`, and the run: one event loop, the manager, the
 * control endpoint.
 * SIGTERM/SIGINT stop everything in order; SIGHUP reloads the definitions.
 */
#include "run.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/options.h>
#include <haven/util.h>

#include "control.h"

/* --- the command line ------------------------------------------------------ */

/* Is this binary the one in the build tree? Then the build's own
 * definitions and binaries are the defaults. */
static bool in_build_tree(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	size_t bl = strlen(HAVEN_BUILD_ROOT);
	return strncmp(self, HAVEN_BUILD_ROOT, bl) == 0 && self[bl] == '/';
}

#define BUILD_SERVICE_PATH HAVEN_BUILD_ROOT "/services/*:" HAVEN_BUILD_ROOT "/utilities/*"

/* What was not given on the command line. -1, or an exit code. */
static int fill_defaults(ss_run_opts *ro)
{
	ss_manager_opts *o = &ro->manager;
	bool build = in_build_tree();
	if (!o->config)
		o->config = build ? HAVEN_SOURCE_ROOT "/etc/services"
				  : HAVEN_SYSCONFDIR "/haven/services";
	if (!o->service_path)
		o->service_path = getenv("HAVEN_SERVICE_PATH");
	if (!o->service_path)
		o->service_path =
			build ? BUILD_SERVICE_PATH : HAVEN_LIBEXECDIR "/haven:" HAVEN_BINDIR;
	if (o->runtime_dir)
		return -1;
	if (!o->user_mode) {
		o->runtime_dir = "/run/haven";
		return -1;
	}
	const char *x = getenv("XDG_RUNTIME_DIR");
	if (!x || x[0] != '/') {
		fprintf(stderr, "SystemServer: --user needs XDG_RUNTIME_DIR (or --runtime-dir)\n");
		return 2;
	}
	if (asprintf(&ro->runtime_dir, "%s/haven", x) < 0) {
		ro->runtime_dir = NULL;
		return 1;
	}
	o->runtime_dir = ro->runtime_dir;
	return -1;
}

int ss_run_parse_args(int argc, char **argv, ss_run_opts *ro)
{
	ss_manager_opts *o = &ro->manager;
	const hv_option options[] = {
		HV_OPT_FLAG("user", &o->user_mode,
			    "user session mode: runtime dir $XDG_RUNTIME_DIR/haven"),
		HV_OPT_STRING("config", "PATH", &o->config,
			      "definitions: a file, or a directory of *.ini files\n"
			      "(default: the build's etc/services, or " HAVEN_SYSCONFDIR
			      "/haven/services)"),
		HV_OPT_STRING("mode", "NAME", &o->mode,
			      "boot mode; only services whose SystemModes include it "
			      "start\n(default: default)"),
		HV_OPT_STRING("runtime-dir", "DIR", &o->runtime_dir,
			      "runtime dir (default: /run/haven, or the --user one)"),
		HV_OPT_STRING("service-path", "DIRS", &o->service_path,
			      "':'-separated dirs (globs allowed) for bare Executable= names\n"
			      "(default: $HAVEN_SERVICE_PATH, else the build's services/* and\n"
			      "utilities/*, or " HAVEN_LIBEXECDIR "/haven:" HAVEN_BINDIR ")"),
		HV_OPT_FLAG("check", &ro->check,
			    "only read the definitions, report problems, exit 1 if any"),
		HV_OPT_FLAG("init", &ro->init.init,
			    "run as the init (also when PID 1): mounts, hostname, lo,\n"
			    "haven.mode= from /proc/cmdline, orphans, poweroff/reboot"),
		HV_OPT_STRING("emergency-shell", "PATH", &ro->init.emergency_shell,
			      "as init, what runs when the manager fails (default /bin/sh;\n"
			      "none: power off at once)"),
		HV_OPT_STRING("on-sigterm", "ACTION", &ro->init.on_sigterm,
			      "as init, what SIGTERM ends with: poweroff (default), reboot, halt"),
		{ 0 },
	};
	const hv_option *const tables[] = { options, NULL };
	const hv_cmdline cmd = {
		.name = "SystemServer",
		.summary = "Start and supervise Haven's services (see docs/systemserver.md).\n",
		.tables = tables,
		.max_args = 0,
	};
	int first;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	hv_log_set_ident("SystemServer");
	if (getpid() == 1)
		ro->init.init = true;
	enum ss_power a;
	if (ro->init.on_sigterm && ss_power_parse(ro->init.on_sigterm, &a) < 0) {
		fprintf(stderr, "SystemServer: bad --on-sigterm \"%s\" (poweroff, reboot or halt)\n",
			ro->init.on_sigterm);
		return getpid() == 1 ? -1 : 2;
	}
	if (ro->init.init && o->user_mode) {
		fprintf(stderr, "SystemServer: --init runs the system manager, not --user\n");
		if (getpid() != 1)
			return 2;
		o->user_mode = false;
	}
	if (!ro->init.emergency_shell)
		ro->init.emergency_shell = "/bin/sh";
	return fill_defaults(ro);
}

void ss_run_opts_done(ss_run_opts *o)
{
	free(o->runtime_dir);
	o->runtime_dir = NULL;
}

/* --- --check ------------------------------------------------------------------ */

int ss_run_check(const ss_manager_opts *o)
{
	_hv_free_ char *portal = NULL;
	if (asprintf(&portal, "%s/portal", o->runtime_dir) < 0) {
		portal = NULL;
		return 1;
	}
	ss_def_env env = {
		.user_mode = o->user_mode,
		.root = geteuid() == 0,
		.portal_dir = portal,
		.runtime_dir = o->runtime_dir,
		.service_path = o->service_path,
	};
	ss_def_set set;
	if (ss_defs_load(o->config, &env, &set) < 0)
		return 1;
	for (size_t i = 0; i < set.n; i++) {
		const ss_svc_def *d = set.defs[i];
		printf("%-24s %s  %s:%d\n", d->name, d->invalid ? "INVALID" : "ok     ", d->file,
		       d->line);
	}
	printf("%zu service(s), %u problem(s)\n", set.n, set.errors);
	unsigned errors = set.errors;
	ss_defs_free(&set);
	return errors ? 1 : 0;
}

/* --- the run ---------------------------------------------------------------- */

/* A second manager on the same runtime dir would take the first one's
 * sockets away: refuse to start if its control portal answers. */
static bool control_in_use(const char *runtime_dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (snprintf(sa.sun_path, sizeof sa.sun_path, "%s/portal/SystemServer", runtime_dir) >=
	    (int)sizeof sa.sun_path)
		return false;
	_hv_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
}

static void on_stop_signal(hv_loop *loop, int signo, void *userdata)
{
	hv_log_info("received %s", strsignal(signo));
	ss_init_on_stop_signal(signo);
	ss_manager_shutdown(userdata);
}

static void on_hup(hv_loop *loop, int signo, void *userdata)
{
	hv_log_info("SIGHUP: reloading definitions");
	ss_manager_reload(userdata);
}

/* The manager's part of the loop: signals, definitions, control endpoint.
 * A negative errno (logged) if the manager cannot run. */
static int start(hv_loop *loop, ss_manager *m, const ss_manager_opts *o, ss_control **ctl)
{
	int r;
	if ((r = hv_loop_add_signal(loop, SIGTERM, on_stop_signal, m, NULL)) < 0 ||
	    (r = hv_loop_add_signal(loop, SIGINT, on_stop_signal, m, NULL)) < 0 ||
	    (r = hv_loop_add_signal(loop, SIGHUP, on_hup, m, NULL)) < 0)
		return hv_log_errno(r, "Failed to watch signals");
	if ((r = ss_init_watch(loop, m)) < 0)
		return hv_log_errno(r, "Failed to watch for orphans and init's signals");
	hv_log_info("%s mode, runtime dir %s, definitions %s", o->user_mode ? "user" : "system",
		    o->runtime_dir, o->config);
	r = ss_manager_boot(m);
	if (r < 0)
		return hv_log_errno(r, "Failed to load the service definitions");
	r = ss_control_start(m, ctl);
	if (r < 0)
		hv_log_errno(r, "Control endpoint unavailable; continuing without it");
	return 0;
}

int ss_run(const ss_manager_opts *o)
{
	signal(SIGPIPE, SIG_IGN);
	ss_manager_raise_nofile();
	if (control_in_use(o->runtime_dir)) {
		fprintf(stderr, "SystemServer: another SystemServer already serves %s\n",
			o->runtime_dir);
		return 1;
	}
	/* Freed in reverse: the control endpoint, the manager, the loop. */
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = NULL;
	_hv_cleanup_(ss_manager_freep) ss_manager *m = NULL;
	_hv_cleanup_(ss_control_freep) ss_control *ctl = NULL;
	int r = hv_loop_new(&loop);
	if (r < 0)
		return hv_log_errno(r, "Failed to create the event loop"), 1;
	if (ss_manager_new(loop, o, &m) < 0 || start(loop, m, o, &ctl) < 0)
		return 1;
	r = hv_loop_run(loop);
	return r < 0 ? 1 : r;
}
