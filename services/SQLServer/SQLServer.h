/* SQLServer.h — what main.c needs from the handlers (SQLServer.c). */
#pragma once

#include <haven/ipc.h>

#include "SQLServer.ipc.h"

/* Rows per next_result batch, bytes a batch may reach before it is sent,
 * and batches a client may have unacknowledged: together they bound what
 * one execution holds in the server (docs/sqlserver.md). */
#define SQL_BATCH_ROWS 256
#define SQL_BATCH_BYTES (256u * 1024)
#define SQL_WINDOW 2
/* Per client connection: sessions (connect), statements, executions. */
#define SQL_MAX_SESSIONS 64
#define SQL_MAX_STATEMENTS 1024

extern const sql_server_handlers sql_handlers;

/* Each client's state (the service description's conn_size): its
 * sessions and statements, ended and freed by sql_peer_fini. */
struct sql_peer {
	hv_conn *conn;
	struct sql_session *sessions;
	struct sql_stmt *stmts;
	unsigned nsessions, nstmts;
};
int sql_peer_init(hv_conn *c, void *state);
void sql_peer_fini(hv_conn *c, void *state);

/* The service's lifetime: databases live in dir. */
int sql_service_open(hv_server *srv, const char *dir);
void sql_service_close(int exit_code);

/* The process around the handlers (process.c): --dir and main.c's setup. */
extern const char *sql_dir;
int sql_setup(hv_server *srv);
