/* sql_client.c — the client library of SQLServer (sql_client.h): sync
 * calls for connect/prepare/execute, then the execution's events read with
 * hv_conn_dispatch until it ends, each batch acknowledged as it is used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/loop.h>

#include "sql_client.h"

struct sqlc {
	hv_conn *conn;
	int timeout_ms; /* < 0: none */
	/* The execution being read. */
	uint64_t exec_id;
	bool done;
	int status; /* first failure: a callback's, or SQLC_ERR_SQL */
	const sqlc_result_ops *ops;
	void *ud;
	sqlc_summary summary;
	sqlc_error *err;
};

static void set_error(sqlc_error *err, const sql_server_sql_error *e)
{
	if (!err)
		return;
	err->code = e->code;
	err->offset = e->offset;
	snprintf(err->message, sizeof(err->message), "%s", e->message);
}

static sqlc *from_call(hv_call *call) { return hv_conn_userdata(hv_call_conn(call)); }

static int on_success(hv_call *call, const sql_client_execution_success_req *req)
{
	sqlc *s = from_call(call);
	if (req->execution_id != s->exec_id)
		return 0;
	s->summary.has_results = req->has_results;
	s->summary.created = req->rows_created;
	s->summary.updated = req->rows_updated;
	s->summary.deleted = req->rows_deleted;
	if (s->ops && s->ops->columns && !s->status) {
		int r = s->ops->columns(s->ud, req->column_names.items, req->column_names.count);
		if (r < 0)
			s->status = r;
	}
	return 0;
}

static int on_rows(hv_call *call, const sql_client_next_result_req *req)
{
	sqlc *s = from_call(call);
	if (req->execution_id != s->exec_id)
		return 0;
	for (size_t i = 0; i < req->rows.count && !s->status; i++) {
		const sql_server_row *row = &req->rows.items[i];
		if (s->ops && s->ops->row) {
			int r = s->ops->row(s->ud, row->values.items, row->values.count);
			if (r < 0)
				s->status = r;
		}
	}
	/* Used: the server may send one more batch. */
	return sql_server_ready_for_next_result(s->conn, req->statement_id, req->execution_id);
}

static int on_exhausted(hv_call *call, const sql_client_results_exhausted_req *req)
{
	sqlc *s = from_call(call);
	if (req->execution_id == s->exec_id) {
		s->summary.rows = req->total_rows;
		s->done = true;
	}
	return 0;
}

static int on_error(hv_call *call, const sql_client_execution_error_req *req)
{
	sqlc *s = from_call(call);
	if (req->execution_id != s->exec_id)
		return 0;
	set_error(s->err, &req->error);
	if (!s->status)
		s->status = SQLC_ERR_SQL;
	s->done = true;
	return 0;
}

static const sql_client_handlers events = {
	.execution_success = on_success,
	.next_result = on_rows,
	.results_exhausted = on_exhausted,
	.execution_error = on_error,
};

int sqlc_open(const char *socket_path, sqlc **out)
{
	sqlc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	int r = socket_path ? hv_conn_connect(NULL, socket_path, &s->conn)
			    : hv_conn_connect_portal(NULL, "sql", &s->conn);
	if (r >= 0)
		r = hv_conn_serve(s->conn, &sql_client_endpoint, &events);
	if (r < 0) {
		if (s->conn)
			hv_conn_close(s->conn);
		free(s);
		return r;
	}
	hv_conn_set_userdata(s->conn, s);
	s->timeout_ms = -1;
	*out = s;
	return 0;
}

void sqlc_close(sqlc *s)
{
	if (!s)
		return;
	hv_conn_close(s->conn);
	free(s);
}

hv_conn *sqlc_conn(sqlc *s) { return s->conn; }

void sqlc_set_timeout(sqlc *s, int timeout_ms)
{
	s->timeout_ms = timeout_ms < 0 ? -1 : timeout_ms;
	hv_conn_set_timeout(s->conn, s->timeout_ms);
}

/* Dispatch events until the execution ends; -ETIMEDOUT when none arrives
 * within the timeout (a partial message is no progress). */
static int wait_done(sqlc *s)
{
	uint64_t last = hv_now_ns();
	while (!s->done) {
		int r = hv_conn_dispatch(s->conn, s->timeout_ms);
		if (r < 0)
			return r;
		if (r > 0)
			last = hv_now_ns();
		else if (s->timeout_ms >= 0 &&
			 hv_now_ns() - last >= (uint64_t)s->timeout_ms * 1000000u)
			return -ETIMEDOUT;
	}
	return 0;
}

const char *sqlc_strerror(sqlc *s, int r) { return hv_conn_strerror(s ? s->conn : NULL, r); }

int sqlc_connect(sqlc *s, const char *name, uint64_t *connection_id)
{
	return sql_server_connect(s->conn, name, connection_id);
}

int sqlc_disconnect(sqlc *s, uint64_t connection_id)
{
	int r = sql_server_disconnect(s->conn, connection_id);
	return r < 0 ? r : hv_conn_flush(s->conn);
}

int sqlc_prepare(sqlc *s, uint64_t connection_id, const char *sql, uint64_t *stmt, size_t *tail,
		 sqlc_error *err)
{
	uint32_t t = 0;
	hv_opt_sql_server_sql_error e = {0};
	int r = sql_server_prepare_statement(s->conn, connection_id, sql, stmt, &t, &e);
	if (r < 0)
		return r;
	*tail = t;
	if (e.present) {
		set_error(err, &e.value);
		return SQLC_ERR_SQL;
	}
	return 0;
}

int sqlc_execute(sqlc *s, uint64_t stmt, const sql_server_value *params, size_t nparams,
		 const sqlc_result_ops *ops, void *ud, sqlc_summary *summary, sqlc_error *err)
{
	s->exec_id = 0;
	s->done = false;
	s->status = 0;
	s->ops = ops;
	s->ud = ud;
	s->summary = (sqlc_summary){0};
	s->err = err;
	hv_vec_sql_server_value v = {.items = (sql_server_value *)params, .count = nparams};
	int r = sql_server_execute_statement(s->conn, stmt, v, &s->exec_id);
	if (r >= 0)
		r = wait_done(s);
	s->ops = NULL;
	s->err = NULL;
	if (r < 0)
		return r;
	if (summary)
		*summary = s->summary;
	return s->status;
}

int sqlc_exec(sqlc *s, uint64_t connection_id, const char *sql, const sqlc_result_ops *ops,
	      void *ud, sqlc_summary *summary, sqlc_error *err)
{
	size_t at = 0;
	while (sql[at]) {
		uint64_t stmt = 0;
		size_t tail = 0;
		int r = sqlc_prepare(s, connection_id, sql + at, &stmt, &tail, err);
		if (r == SQLC_ERR_SQL && err && err->offset >= 0)
			err->offset += (int)at;
		if (r < 0)
			return r;
		if (!stmt)
			break;
		r = sqlc_execute(s, stmt, NULL, 0, ops, ud, summary, err);
		int rr = sql_server_release_statement(s->conn, stmt);
		if (r >= 0 && rr < 0)
			r = rr;
		if (r == SQLC_ERR_SQL && err && err->offset >= 0)
			err->offset += (int)at;
		if (r < 0)
			return r;
		at += tail;
	}
	return 0;
}
