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

#include "SQLServer.h"

const char *sql_dir; /* --sql_dir, then the absolute path in use */

/* mkdir -p of an absolute path, 0700 for what it creates. */
static int make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700);
		*p = '/';
		if (r < 0 && errno != EEXIST)
			return -errno;
	}
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -errno : 0;
}

int sql_setup(hv_server *srv)
{
	static char buf[PATH_MAX];
	if (!sql_dir) {
		const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		int n = data && data[0] == '/' ? snprintf(buf, sizeof(buf), "%s/haven/SQLServer", data)
			: home && home[0] == '/' ? snprintf(buf, sizeof(buf), "%s/.local/share/haven/SQLServer", home)
						 : -1;
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			hv_log_error("no data directory: set XDG_DATA_HOME or HOME, or give --sql_dir");
			return -ENOENT;
		}
		int r = make_dirs(buf);
		if (r < 0) {
			hv_log_error("cannot create %s: %s", buf, strerror(-r));
			return r;
		}
		sql_dir = buf;
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

