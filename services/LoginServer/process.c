/* process.c — LoginServer's process around its handlers: the options,
 * and main.c's hooks (start the launcher before the sandbox; end it). */
#include <errno.h>
#include <string.h>

#include <haven/log.h>

#include "logins.h"

struct lgs_options lgs_opts = {
	.pam_service = "haven-login",
	.runtime_root = "/run/user",
	.default_cmd = "SystemServer --user",
	.fail_delay_ms = 2000,
	.backoff_ms = 2000,
	.backoff_max_ms = 60000,
};

const hv_option lgs_options_table[] = {
	HV_OPT_STRING("pam-service", "NAME", &lgs_opts.pam_service,
		      "the PAM service (default haven-login: /etc/pam.d/haven-login)"),
	HV_OPT_STRING("runtime-root", "DIR", &lgs_opts.runtime_root,
		      "where runtime directories go, DIR/UID (default /run/user)"),
	HV_OPT_STRING("default-command", "CMD", &lgs_opts.default_cmd,
		      "a session's command when the greeter names none, split on\n"
		      "spaces (default \"SystemServer --user\")"),
	HV_OPT_STRING("autologin", "USER", &lgs_opts.autologin,
		      "log USER in without asking for anything (default: nobody)"),
	HV_OPT_INT("fail-delay-ms", "MS", &lgs_opts.fail_delay_ms, 0, 60000,
		   "a failed attempt is reported no sooner than this after its\n"
		   "last answer (default 2000)"),
	HV_OPT_INT("backoff-ms", "MS", &lgs_opts.backoff_ms, 0, 3600000,
		   "after 3 failures in a row, a user's next attempt waits this,\n"
		   "doubled per further failure (default 2000; 0: never)"),
	HV_OPT_INT("backoff-max-ms", "MS", &lgs_opts.backoff_max_ms, 0, 86400000,
		   "the longest back-off (default 60000)"),
	{0},
};

int lgs_setup(hv_server *srv)
{
	lgs_server = srv;
	if (!lgs_opts.pam_service[0] || strchr(lgs_opts.pam_service, '/')) {
		hv_log_error("--pam-service: a name, not a path: '%s'", lgs_opts.pam_service);
		return -EINVAL;
	}
	if (lgs_opts.runtime_root[0] != '/') {
		hv_log_error("--runtime-root: an absolute path, not '%s'", lgs_opts.runtime_root);
		return -EINVAL;
	}
	if (lgs_opts.autologin)
		hv_log_warn("auto-login is on for '%s'", lgs_opts.autologin);
	int r = lgs_launcher_start();
	if (r < 0)
		hv_log_error("cannot start the worker launcher: %s", strerror(-r));
	return r;
}

void lgs_teardown(int exit_code)
{
	lgs_logins_free();
	lgs_backoff_clear();
	lgs_launcher_stop();
}
