/* SQLServer — SQL for many clients over IPC, on SQLite (docs/sqlserver.md).
 *
 *   SQLServer [--socket PATH] [--dir DIR]
 *
 * Databases are DIR/NAME.db; DIR defaults to $XDG_DATA_HOME/haven/SQLServer
 * (~/.local/share/haven/SQLServer), created when missing. The sandbox is
 * that directory only: no network, no exec. */
#include <haven/service.h>

#include "SQLServer.h"

static const hv_service sqlserver = {
	.name = "SQLServer",
	.summary = "Serves SQLServer.ipc: SQL on SQLite databases for many clients.",
	.endpoint = &sql_server_endpoint,
	.handlers = &sql_handlers,
	.conn_size = sizeof(struct sql_peer),
	.conn_init = sql_peer_init,
	.conn_fini = sql_peer_fini,
	.options = (const hv_option[]){
		HV_OPT_STRING("dir", "DIR", &sql_dir, "where the databases are (default\n"
			      "$XDG_DATA_HOME/haven/SQLServer)"),
		{0}},
	.setup = sql_setup,
	.teardown = sql_service_close,
	.unveil = (const hv_unveil_rule[]){HV_UNVEIL(sql_dir, "rwc"), {0}},
	/* Files in its directory (flock: SQLite's locks; fattr: it keeps the
	 * -shm file's mode equal to the database's). */
	.pledge = "stdio rpath wpath cpath flock fattr",
};

int main(int argc, char **argv) { return hv_service_main(&sqlserver, argc, argv); }
