/* login.c — logins through LoginServer (login.h). */
#include "login.h"

#include <errno.h>

#include <haven/log.h>

int ts_login_new(const ts_config *cfg, hv_loop *loop, int master, int slave,
		 ts_session_end_cb end, void *ud, ts_login **out)
{
	(void)cfg, (void)loop, (void)master, (void)slave, (void)end, (void)ud, (void)out;
	hv_log_error("--login-socket: this build has no LoginServer client yet; --no-auth "
		     "is the only mode (tests only)");
	return -ENOTSUP;
}

const char *ts_login_promises(const ts_login *l)
{
	(void)l;
	return "stdio tty";
}

int ts_login_start(ts_login *l, const ts_proto *p)
{
	(void)l, (void)p;
	return -ENOTSUP;
}

void ts_login_free(ts_login *l) { (void)l; }
