/* sql_client.h — the client library of SQLServer (as SerenityOS's
 * LibSQL SQLClient): a blocking connection that prepares and executes
 * statements and hands their rows to callbacks, acknowledging each batch
 * so the server sends the next. `sql` and the tests use only this.
 *
 *	sqlc *s; uint64_t db;
 *	sqlc_open(NULL, &s);                     // the "sql" portal
 *	sqlc_connect(s, "notes", &db);
 *	sqlc_exec(s, db, "SELECT * FROM t", &ops, ud, &err);
 *	sqlc_close(s);
 *
 * Errors: a negative errno (transport), a named SQL_SERVER_ERR_* (misuse:
 * unknown id, bad name; sqlc_strerror has the server's words), or
 * SQLC_ERR_SQL when SQLite refused the statement: *err then has SQLite's
 * code, message and offset. One execution at a time per sqlc. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "SQLClient.ipc.h"
#include "SQLServer.ipc.h"

#define SQLC_ERR_SQL (-5096)

typedef struct sqlc sqlc;

typedef struct sqlc_error {
	int code;   /* SQLite's extended result code */
	int offset; /* byte offset in the statement's SQL, -1 if none */
	char message[512];
} sqlc_error;

/* What an execution did (execution_success and results_exhausted). */
typedef struct sqlc_summary {
	bool has_results;
	uint64_t rows, created, updated, deleted;
} sqlc_summary;

/* Called during sqlc_execute; a negative return stops the calls (the rest
 * of the result is drained) and becomes sqlc_execute's result. Values are
 * valid during the call. Either may be NULL. */
typedef struct sqlc_result_ops {
	int (*columns)(void *ud, const char *const *names, size_t n);
	int (*row)(void *ud, const sql_server_value *values, size_t n);
} sqlc_result_ops;

/* socket_path NULL: the "sql" portal. */
int sqlc_open(const char *socket_path, sqlc **out);
void sqlc_close(sqlc *s);
hv_conn *sqlc_conn(sqlc *s);
/* How long a call, or the wait for an execution's next event, may take
 * before it fails with -ETIMEDOUT (ms; < 0, the default: for ever). A
 * frozen service then cannot hang a script. */
void sqlc_set_timeout(sqlc *s, int timeout_ms);
/* The text of a failed call's result (the server's message when it sent
 * one). */
const char *sqlc_strerror(sqlc *s, int r);

int sqlc_connect(sqlc *s, const char *name, uint64_t *connection_id);
int sqlc_disconnect(sqlc *s, uint64_t connection_id);
/* The first statement of sql: *stmt (0 when only blanks/comments remain)
 * and *tail, where the rest of sql starts. */
int sqlc_prepare(sqlc *s, uint64_t connection_id, const char *sql, uint64_t *stmt, size_t *tail,
		 sqlc_error *err);
/* Execute and read the whole result. summary may be NULL. */
int sqlc_execute(sqlc *s, uint64_t stmt, const sql_server_value *params, size_t nparams,
		 const sqlc_result_ops *ops, void *ud, sqlc_summary *summary, sqlc_error *err);
/* Every statement of sql in turn (no placeholders), stopping at the first
 * error; err->offset is then relative to the whole of sql. */
int sqlc_exec(sqlc *s, uint64_t connection_id, const char *sql, const sqlc_result_ops *ops,
	      void *ud, sqlc_summary *summary, sqlc_error *err);

/* Values for placeholders. */
static inline sql_server_value sqlc_int(int64_t v)
{
	return (sql_server_value){.type = SQL_SERVER_VALUE_TYPE_INTEGER, .integer = v};
}
static inline sql_server_value sqlc_text(const char *s)
{
	return (sql_server_value){.type = SQL_SERVER_VALUE_TYPE_TEXT,
				  .data = {.data = (const uint8_t *)s, .len = __builtin_strlen(s)}};
}
