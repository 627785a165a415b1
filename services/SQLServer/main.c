/* SQLServer — SQL for many clients over IPC, on SQLite (docs/sqlserver.md).
 *
 *   SQLServer [--socket PATH] [--dir DIR]
 *
 * Databases are DIR/NAME.db; DIR defaults to $XDG_DATA_HOME/haven/SQLServer
 * (~/.local/share/haven/SQLServer), created when missing. The sandbox is
 * that directory only: no network, no exec. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <haven/log.h>
#include <haven/service.h>

#include "SQLServer.h"

static const char *dir;

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

static int setup(hv_server *srv)
{
	static char buf[PATH_MAX];
	if (!dir) {
		const char *data = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
		int n = data && data[0] == '/' ? snprintf(buf, sizeof(buf), "%s/haven/SQLServer", data)
			: home && home[0] == '/' ? snprintf(buf, sizeof(buf), "%s/.local/share/haven/SQLServer", home)
						 : -1;
		if (n < 0 || (size_t)n >= sizeof(buf)) {
			hv_log_error("no data directory: set XDG_DATA_HOME or HOME, or give --dir");
			return -ENOENT;
		}
		int r = make_dirs(buf);
		if (r < 0) {
			hv_log_error("cannot create %s: %s", buf, strerror(-r));
			return r;
		}
		dir = buf;
	} else {
		/* Absolute, so SQLite never depends on the working directory. */
		if (!realpath(dir, buf)) {
			hv_log_error("--dir %s: %m", dir);
			return -errno;
		}
		dir = buf;
	}
	return sql_service_open(srv, dir);
}

static const hv_service sqlserver = {
	.name = "SQLServer",
	.summary = "Serves SQLServer.ipc: SQL on SQLite databases for many clients.",
	.endpoint = &sql_server_endpoint,
	.handlers = &sql_handlers,
	.conn_size = sizeof(struct sql_peer),
	.conn_init = sql_peer_init,
	.conn_fini = sql_peer_fini,
	.options = (const hv_option[]){
		HV_OPT_STRING("dir", "DIR", &dir, "where the databases are (default\n"
			      "$XDG_DATA_HOME/haven/SQLServer)"),
		{0}},
	.setup = setup,
	.teardown = sql_service_close,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(dir, "rwc"), {0}},
	/* Files in its directory (flock: SQLite's locks; fattr: it keeps the
	 * -shm file's mode equal to the database's). */
	.pledge = "stdio rpath wpath cpath flock fattr",
};

int main(int argc, char **argv) { return hv_service_main(&sqlserver, argc, argv); }
