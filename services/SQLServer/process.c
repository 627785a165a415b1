/* process.c — SQLServer's process around its handlers: where the
 * databases live (--dir, else $XDG_DATA_HOME/haven/SQLServer, created
 * 0700) and main.c's setup hook. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <haven/log.h>
#include <haven/util.h>

#include "SQLServer.h"

const char *sql_dir; /* --sql_dir, then the absolute path in use */

int sql_setup(hv_server *srv)
{
	static char buf[PATH_MAX];
	if (!sql_dir) {
		_hv_free_ char *dir = NULL;
		int r = hv_xdg_path(HV_XDG_DATA, "haven/SQLServer", &dir);
		if (r < 0) {
			hv_log_error("no data directory: set XDG_DATA_HOME or HOME, or give --sql_dir");
			return r;
		}
		if (strlen(dir) >= sizeof(buf))
			return hv_log_errno(-ENAMETOOLONG, "%s", dir);
		r = hv_mkdir_p(dir, 0700);
		if (r < 0) {
			hv_log_error("cannot create %s: %s", dir, strerror(-r));
			return r;
		}
		sql_dir = strcpy(buf, dir);
	} else {
		/* Absolute, so SQLite never depends on the working directory. */
		if (!realpath(sql_dir, buf)) {
			hv_log_error("--dir %s: %m", sql_dir);
			return -errno;
		}
		sql_dir = buf;
	}
	return sql_service_open(srv, sql_dir);
}

