/* SQLServer.c — the handlers of SQLServer.ipc, and the scheduler that runs
 * executions on SQLite.
 *
 * The model (docs/sqlserver.md): each database has one writer handle and
 * each session (a connect()) its own reader handle, in WAL mode, so reads
 * never wait for writes. An execution runs on the writer when it writes,
 * controls a transaction, or its session holds the writer (a transaction
 * is open, or a write still streams); otherwise on the session's reader.
 * The writer belongs to one session at a time: executions of others wait
 * in the database's queue, in order, so no client ever sees SQLITE_BUSY.
 * A session that ends (disconnect, or its client gone) has its
 * transaction rolled back and the writer passed on.
 *
 * Rows are read from SQLite only when they can be sent: at most
 * SQL_WINDOW batches are unacknowledged, so a slow reader costs the server
 * a bounded amount of memory and slows nobody else. The process is one
 * thread: handlers and SQLite calls never race.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>
#include <haven/util.h>

#include "SQLClient.ipc.h"
#include "SQLServer.h"
#include "sql_db.h"

struct sql_db {
	char name[SQL_MAX_NAME + 1];
	sqlite3 *writer;
	struct sql_session *owner; /* holds the writer */
	unsigned owner_active;	   /* its executions running on the writer */
	struct sql_exec *queue;	   /* waiting, oldest first */
	unsigned refs;
	struct sql_db *next;
};

struct sql_session {
	uint64_t id;
	struct sql_db *db;
	sqlite3 *reader;
	struct sql_peer *client;
	struct sql_session *next;
};

struct sql_stmt {
	uint64_t id;
	struct sql_session *session;
	char *sql;
	int len;
	sqlite3_stmt *w, *r; /* on the writer; on the session's reader (lazily) */
	sql_prep_info info;
	bool readonly;
	struct sql_exec *exec; /* the one running, if any */
	struct sql_stmt *next;
};

struct sql_exec {
	uint64_t id;
	struct sql_stmt *stmt;
	sqlite3_stmt *s; /* NULL while queued */
	bool on_writer;
	unsigned credits;
	uint64_t rows;
	sql_server_value *params; /* owned copy while queued */
	size_t nparams;
	struct sql_exec *qnext;
};

static const char *db_dir;
static struct sql_db *dbs;
static hv_loop *loop;
static uint64_t last_id;
static bool pump_scheduled;

static void schedule(void);

/* --- databases ----------------------------------------------------------- */

static int db_get(const char *name, struct sql_db **out, const char **errmsg)
{
	for (struct sql_db *d = dbs; d; d = d->next)
		if (!strcmp(d->name, name)) {
			d->refs++;
			*out = d;
			return 0;
		}
	struct sql_db *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	int r = sql_db_open(db_dir, name, true, &d->writer, errmsg);
	if (r < 0) {
		free(d);
		return r;
	}
	strcpy(d->name, name);
	d->refs = 1;
	d->next = dbs;
	dbs = d;
	*out = d;
	return 0;
}

static void db_put(struct sql_db *d)
{
	if (--d->refs)
		return;
	for (struct sql_db **p = &dbs; *p; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	sqlite3_close_v2(d->writer);
	free(d);
}

/* --- executions ------------------------------------------------------------ */

static sql_server_sql_error sqlite_error(sqlite3 *h, int rc, const char *override)
{
	return (sql_server_sql_error){
		.code = rc,
		.message = override ? override : sqlite3_errmsg(h),
		.offset = sqlite3_error_offset(h),
	};
}

static bool needs_writer(const struct sql_stmt *st)
{
	return st->info.txn_control || !st->readonly || st->session->db->owner == st->session;
}

static void exec_free(struct sql_exec *e)
{
	free(e->params);
	free(e);
}

/* The execution is over (done, failed, or its session going): give its
 * statement back and, when its session no longer needs it, the writer. */
static void exec_finish(struct sql_exec *e)
{
	struct sql_stmt *st = e->stmt;
	struct sql_db *db = st->session->db;
	if (e->s) {
		sqlite3_reset(e->s);
		sqlite3_clear_bindings(e->s);
	}
	if (e->on_writer && db->owner == st->session) {
		db->owner_active--;
		if (!db->owner_active && sqlite3_get_autocommit(db->writer)) {
			db->owner = NULL;
			schedule();
		}
	}
	st->exec = NULL;
	exec_free(e);
}

static int bind_params(sqlite3_stmt *s, const sql_server_value *v, size_t n)
{
	int rc = SQLITE_OK;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		int k = (int)i + 1;
		switch (v[i].type) {
		case SQL_SERVER_VALUE_TYPE_NULL: rc = sqlite3_bind_null(s, k); break;
		case SQL_SERVER_VALUE_TYPE_INTEGER: rc = sqlite3_bind_int64(s, k, v[i].integer); break;
		case SQL_SERVER_VALUE_TYPE_REAL: rc = sqlite3_bind_double(s, k, v[i].real); break;
		case SQL_SERVER_VALUE_TYPE_TEXT:
			rc = sqlite3_bind_text64(s, k, (const char *)v[i].data.data, v[i].data.len,
						 SQLITE_TRANSIENT, SQLITE_UTF8);
			break;
		case SQL_SERVER_VALUE_TYPE_BLOB:
			rc = sqlite3_bind_blob64(s, k, v[i].data.data, v[i].data.len, SQLITE_TRANSIENT);
			break;
		}
	}
	return rc;
}

/* One row into the batch; returns the bytes it takes. */
static size_t copy_row(hv_arena *a, sqlite3_stmt *s, sql_server_row *row)
{
	int n = sqlite3_column_count(s);
	size_t bytes = 16;
	row->values.items = hv_arena_calloc(a, (size_t)n, sizeof(sql_server_value));
	if (!row->values.items)
		return 0;
	row->values.count = (size_t)n;
	for (int i = 0; i < n; i++) {
		sql_server_value *v = &row->values.items[i];
		switch (sqlite3_column_type(s, i)) {
		case SQLITE_INTEGER:
			*v = (sql_server_value){.type = SQL_SERVER_VALUE_TYPE_INTEGER,
						.integer = sqlite3_column_int64(s, i)};
			break;
		case SQLITE_FLOAT:
			*v = (sql_server_value){.type = SQL_SERVER_VALUE_TYPE_REAL,
						.real = sqlite3_column_double(s, i)};
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB: {
			bool text = sqlite3_column_type(s, i) == SQLITE_TEXT;
			const void *p = text ? (const void *)sqlite3_column_text(s, i) : sqlite3_column_blob(s, i);
			size_t len = (size_t)sqlite3_column_bytes(s, i);
			void *copy = hv_arena_alloc(a, len + 1);
			if (!copy)
				return 0;
			if (len)
				memcpy(copy, p, len);
			v->type = text ? SQL_SERVER_VALUE_TYPE_TEXT : SQL_SERVER_VALUE_TYPE_BLOB;
			v->data = (hv_bytes){.data = copy, .len = len};
			bytes += len;
			break;
		}
		default: v->type = SQL_SERVER_VALUE_TYPE_NULL; break;
		}
		bytes += 24;
	}
	return bytes;
}

static void send_error(struct sql_exec *e, int rc, const char *why)
{
	hv_conn *c = e->stmt->session->client->conn;
	sqlite3 *h = sqlite3_db_handle(e->s);
	sql_client_execution_error(c, e->stmt->id, e->id, sqlite_error(h, rc, why));
	exec_finish(e);
}

/* Send batches while the client has credit; the current row (stepped, not
 * yet sent) is where SQLite stands. */
static void exec_pump(struct sql_exec *e)
{
	hv_conn *c = e->stmt->session->client->conn;
	hv_arena a = HV_ARENA_INIT;
	while (e->credits) {
		sql_server_row rows[SQL_BATCH_ROWS];
		size_t n = 0, bytes = 0;
		int rc = SQLITE_ROW;
		while (rc == SQLITE_ROW && n < SQL_BATCH_ROWS && bytes < SQL_BATCH_BYTES) {
			size_t b = copy_row(&a, e->s, &rows[n]);
			if (!b) {
				hv_arena_release(&a);
				send_error(e, SQLITE_NOMEM, "out of memory");
				return;
			}
			bytes += b;
			n++;
			rc = sqlite3_step(e->s);
		}
		e->rows += n;
		e->credits--;
		int r = sql_client_next_result(c, e->stmt->id, e->id,
					       (hv_vec_sql_server_row){.items = rows, .count = n});
		hv_arena_reset(&a);
		if (r < 0) {
			/* A row over the message limit (a huge blob), or the client
			 * gone: never a silent gap in the result. */
			char why[160];
			snprintf(why, sizeof(why), "rows %llu-%llu could not be sent: %s",
				 (unsigned long long)(e->rows - n + 1), (unsigned long long)e->rows,
				 r == -EMSGSIZE ? "over the message size limit" : strerror(-r));
			sql_client_execution_error(c, e->stmt->id, e->id,
						   (sql_server_sql_error){SQLITE_TOOBIG, why, -1});
			exec_finish(e);
			break;
		}
		if (rc == SQLITE_DONE) {
			sql_client_results_exhausted(c, e->stmt->id, e->id, e->rows);
			exec_finish(e);
			break;
		}
		if (rc != SQLITE_ROW) {
			send_error(e, rc, NULL);
			break;
		}
	}
	hv_arena_release(&a);
}

static void exec_start(struct sql_exec *e)
{
	struct sql_stmt *st = e->stmt;
	struct sql_session *ss = st->session;
	struct sql_db *db = ss->db;
	e->on_writer = needs_writer(st);
	if (e->on_writer) {
		db->owner = ss;
		db->owner_active++;
		e->s = st->w;
	} else {
		if (!st->r) {
			sql_prep_info info;
			const char *tail;
			int rc = sql_prepare(ss->reader, st->sql, st->len, &st->r, &tail, &info);
			if (rc != SQLITE_OK) {
				e->s = NULL;
				sql_client_execution_error(ss->client->conn, st->id, e->id,
							   sqlite_error(ss->reader, rc, info.denied));
				exec_finish(e);
				return;
			}
		}
		e->s = st->r;
	}
	int rc = bind_params(e->s, e->params, e->nparams);
	free(e->params);
	e->params = NULL;
	if (rc != SQLITE_OK) {
		send_error(e, rc, NULL);
		return;
	}
	rc = sqlite3_step(e->s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		send_error(e, rc, NULL);
		return;
	}
	sqlite3 *h = sqlite3_db_handle(e->s);
	uint64_t changes = st->readonly ? 0 : (uint64_t)sqlite3_changes64(h);
	int ncols = sqlite3_column_count(e->s);
	const char *names[ncols ? ncols : 1];
	for (int i = 0; i < ncols; i++) {
		const char *nm = sqlite3_column_name(e->s, i);
		names[i] = nm && hv_utf8_valid(nm, strlen(nm)) ? nm : "?";
	}
	int kind = st->info.kind;
	sql_client_execution_success(ss->client->conn, st->id, e->id,
				     (hv_vec_string){.items = names, .count = (size_t)ncols}, rc == SQLITE_ROW,
				     kind == SQLITE_INSERT ? changes : 0, kind == SQLITE_UPDATE ? changes : 0,
				     kind == SQLITE_DELETE ? changes : 0);
	if (rc == SQLITE_DONE) {
		sql_client_results_exhausted(ss->client->conn, st->id, e->id, 0);
		exec_finish(e);
		return;
	}
	exec_pump(e);
}

/* Whether e (queued, or about to be) may start now: the writer is free
 * or its session's, and no earlier execution of its session still waits (a session's executions
 * start in the order they were asked for). */
static bool can_start(const struct sql_exec *e)
{
	struct sql_db *db = e->stmt->session->db;
	for (const struct sql_exec *q = db->queue; q && q != e; q = q->qnext)
		if (q->stmt->session == e->stmt->session)
			return false;
	return !needs_writer(e->stmt) || !db->owner || db->owner == e->stmt->session;
}

static void run_queue(struct sql_db *db)
{
	for (struct sql_exec **p = &db->queue; *p;) {
		struct sql_exec *e = *p;
		if (!can_start(e)) {
			p = &e->qnext;
			continue;
		}
		*p = e->qnext;
		exec_start(e);
		p = &db->queue; /* starting may have changed who owns the writer */
	}
}

static void pump_all(hv_loop *l, void *ud)
{
	pump_scheduled = false;
	for (struct sql_db *d = dbs; d; d = d->next)
		run_queue(d);
}

/* Start what can start, after the current handler (a queue changes while
 * a handler runs; starting from the loop keeps it in order). */
static void schedule(void)
{
	if (pump_scheduled)
		return;
	if (hv_loop_defer(loop, pump_all, NULL) == 0)
		pump_scheduled = true;
}

/* --- sessions and statements --------------------------------------------- */

/* A statement's execution still waiting leaves the queue unstarted. */
static void stmt_unqueue(struct sql_stmt *st)
{
	for (struct sql_exec **p = &st->session->db->queue; *p; p = &(*p)->qnext)
		if (*p == st->exec) {
			*p = st->exec->qnext;
			exec_free(st->exec);
			st->exec = NULL;
			return;
		}
}

static void stmt_free(struct sql_stmt *st)
{
	if (st->exec)
		exec_finish(st->exec);
	sqlite3_finalize(st->w);
	sqlite3_finalize(st->r);
	free(st->sql);
	free(st);
}

static void session_end(struct sql_peer *cl, struct sql_session *ss)
{
	struct sql_db *db = ss->db;
	/* Its waiting executions go first, then its running ones. */
	for (struct sql_exec **p = &db->queue; *p;) {
		if ((*p)->stmt->session == ss) {
			struct sql_exec *e = *p;
			*p = e->qnext;
			e->stmt->exec = NULL;
			exec_free(e);
		} else
			p = &(*p)->qnext;
	}
	for (struct sql_stmt **p = &cl->stmts; *p;) {
		if ((*p)->session == ss) {
			struct sql_stmt *st = *p;
			*p = st->next;
			cl->nstmts--;
			stmt_free(st);
		} else
			p = &(*p)->next;
	}
	if (db->owner == ss) {
		if (!sqlite3_get_autocommit(db->writer)) {
			hv_log_info("session %llu on %s ended inside a transaction: rolled back",
				    (unsigned long long)ss->id, db->name);
			sqlite3_exec(db->writer, "ROLLBACK", NULL, NULL, NULL);
		}
		db->owner = NULL;
		db->owner_active = 0;
		schedule();
	}
	sqlite3_close_v2(ss->reader);
	db_put(db);
	free(ss);
}

static struct sql_session *find_session(struct sql_peer *cl, uint64_t id)
{
	for (struct sql_session *s = cl->sessions; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

static struct sql_stmt *find_stmt(struct sql_peer *cl, uint64_t id)
{
	for (struct sql_stmt *s = cl->stmts; s; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* --- handlers ------------------------------------------------------------ */

static int on_connect(hv_call *call, const sql_server_connect_req *req, sql_server_connect_rep *rep)
{
	struct sql_peer *cl = hv_call_state(call);
	if (sql_name_valid(req->name) < 0)
		return sql_server_error(call, SQL_SERVER_ERR_BAD_NAME,
					"invalid database name \"%.80s\" (1-%d of A-Z a-z 0-9 _ -, "
					"not starting with -)",
					req->name, SQL_MAX_NAME);
	if (cl->nsessions >= SQL_MAX_SESSIONS)
		return sql_server_error(call, SQL_SERVER_ERR_TOO_MANY, "at most %d connections per client",
					SQL_MAX_SESSIONS);
	_hv_free_ struct sql_session *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return -ENOMEM;
	const char *why = NULL;
	int r = db_get(req->name, &ss->db, &why);
	if (r < 0)
		return sql_server_error(call, SQL_SERVER_ERR_CANNOT_OPEN, "cannot open database %s: %s",
					req->name, why ? why : strerror(-r));
	if ((r = sql_db_open(db_dir, req->name, false, &ss->reader, &why)) < 0) {
		db_put(ss->db);
		return sql_server_error(call, SQL_SERVER_ERR_CANNOT_OPEN, "cannot open database %s: %s",
					req->name, why ? why : strerror(-r));
	}
	ss->id = ++last_id;
	ss->client = cl;
	ss->next = cl->sessions;
	cl->sessions = HV_TAKE_PTR(ss);
	cl->nsessions++;
	rep->connection_id = cl->sessions->id;
	return 0;
}

static int on_prepare_statement(hv_call *call, const sql_server_prepare_statement_req *req,
				sql_server_prepare_statement_rep *rep)
{
	struct sql_peer *cl = hv_call_state(call);
	struct sql_session *ss = find_session(cl, req->connection_id);
	if (!ss)
		return SQL_SERVER_ERR_NO_SUCH_CONNECTION;
	if (cl->nstmts >= SQL_MAX_STATEMENTS)
		return sql_server_error(call, SQL_SERVER_ERR_TOO_MANY, "at most %d statements per client",
					SQL_MAX_STATEMENTS);
	size_t len = strlen(req->sql);
	if (len > INT32_MAX)
		return -EMSGSIZE;
	sqlite3_stmt *s = NULL;
	const char *tail = NULL;
	sql_prep_info info;
	int rc = sql_prepare(ss->db->writer, req->sql, (int)len, &s, &tail, &info);
	if (rc != SQLITE_OK) {
		sql_server_sql_error err = sqlite_error(ss->db->writer, rc, info.denied);
		err.message = hv_call_strdup(call, err.message);
		if (!err.message)
			return -ENOMEM;
		if (info.denied)
			err.offset = -1;
		rep->error = (hv_opt_sql_server_sql_error){.present = true, .value = err};
		return 0;
	}
	rep->tail = (uint32_t)(tail - req->sql);
	if (!s)
		return 0; /* blanks and comments only */
	struct sql_stmt *st = calloc(1, sizeof(*st));
	char *copy = st ? strndup(req->sql, (size_t)(tail - req->sql)) : NULL;
	if (!copy) {
		free(st);
		sqlite3_finalize(s);
		return -ENOMEM;
	}
	*st = (struct sql_stmt){.id = ++last_id, .session = ss, .sql = copy,
				.len = (int)(tail - req->sql), .w = s, .info = info,
				.readonly = sqlite3_stmt_readonly(s), .next = cl->stmts};
	cl->stmts = st;
	cl->nstmts++;
	rep->statement_id = st->id;
	return 0;
}

/* A private copy of the values (they wait in the queue past the call). */
static int copy_params(const hv_vec_sql_server_value *v, sql_server_value **out)
{
	size_t total = v->count * sizeof(sql_server_value);
	for (size_t i = 0; i < v->count; i++)
		total += v->items[i].data.len;
	uint8_t *mem = malloc(total ? total : 1);
	if (!mem)
		return -ENOMEM;
	sql_server_value *vals = (sql_server_value *)mem;
	uint8_t *p = mem + v->count * sizeof(sql_server_value);
	for (size_t i = 0; i < v->count; i++) {
		vals[i] = v->items[i];
		if (v->items[i].data.len) {
			memcpy(p, v->items[i].data.data, v->items[i].data.len);
			vals[i].data.data = p;
			p += v->items[i].data.len;
		}
	}
	*out = vals;
	return 0;
}

static int check_params(hv_call *call, const struct sql_stmt *st, const hv_vec_sql_server_value *v)
{
	int want = sqlite3_bind_parameter_count(st->w);
	if ((size_t)want != v->count)
		return sql_server_error(call, SQL_SERVER_ERR_BAD_PARAMETERS,
					"the statement has %d placeholders, %zu values were given", want,
					v->count);
	for (size_t i = 0; i < v->count; i++) {
		const sql_server_value *x = &v->items[i];
		if (x->type > SQL_SERVER_VALUE_TYPE_BLOB)
			return sql_server_error(call, SQL_SERVER_ERR_BAD_PARAMETERS,
						"value %zu has no valid type", i + 1);
		if (x->type == SQL_SERVER_VALUE_TYPE_TEXT && !hv_utf8_valid((const char *)x->data.data, x->data.len))
			return sql_server_error(call, SQL_SERVER_ERR_BAD_PARAMETERS,
						"value %zu is text that is not UTF-8", i + 1);
	}
	return 0;
}

static int on_execute_statement(hv_call *call, const sql_server_execute_statement_req *req,
				sql_server_execute_statement_rep *rep)
{
	struct sql_peer *cl = hv_call_state(call);
	struct sql_stmt *st = find_stmt(cl, req->statement_id);
	if (!st)
		return SQL_SERVER_ERR_NO_SUCH_STATEMENT;
	if (st->exec)
		return sql_server_error(call, SQL_SERVER_ERR_BUSY,
					"statement %llu is still executing (execution %llu)",
					(unsigned long long)st->id, (unsigned long long)st->exec->id);
	int r = check_params(call, st, &req->placeholder_values);
	if (r < 0)
		return r;
	struct sql_exec *e = calloc(1, sizeof(*e));
	if (!e || copy_params(&req->placeholder_values, &e->params) < 0) {
		free(e);
		return -ENOMEM;
	}
	e->id = ++last_id;
	e->stmt = st;
	e->nparams = req->placeholder_values.count;
	e->credits = SQL_WINDOW;
	st->exec = e;
	rep->execution_id = e->id;
	struct sql_exec **p = &st->session->db->queue;
	if (!*p && can_start(e)) {
		/* Nothing waits: run it now, so its events leave with the
		 * reply in one write (they precede it on the wire). */
		exec_start(e);
		return 0;
	}
	while (*p)
		p = &(*p)->qnext;
	*p = e;
	schedule();
	return 0;
}

static int on_ready_for_next_result(hv_call *call, const sql_server_ready_for_next_result_req *req)
{
	struct sql_peer *cl = hv_call_state(call);
	struct sql_stmt *st = find_stmt(cl, req->statement_id);
	/* An acknowledgement of a batch after the last one is normal: the
	 * execution has ended, there is nothing to do. */
	if (!st || !st->exec || st->exec->id != req->execution_id || !st->exec->s)
		return 0;
	struct sql_exec *e = st->exec;
	if (e->credits < SQL_WINDOW)
		e->credits++;
	exec_pump(e);
	return 0;
}

static int on_disconnect(hv_call *call, const sql_server_disconnect_req *req)
{
	struct sql_peer *cl = hv_call_state(call);
	for (struct sql_session **p = &cl->sessions; *p; p = &(*p)->next)
		if ((*p)->id == req->connection_id) {
			struct sql_session *ss = *p;
			*p = ss->next;
			cl->nsessions--;
			session_end(cl, ss);
			return 0;
		}
	return 0;
}

static int on_release_statement(hv_call *call, const sql_server_release_statement_req *req)
{
	struct sql_peer *cl = hv_call_state(call);
	for (struct sql_stmt **p = &cl->stmts; *p; p = &(*p)->next)
		if ((*p)->id == req->statement_id) {
			struct sql_stmt *st = *p;
			*p = st->next;
			cl->nstmts--;
			stmt_unqueue(st);
			stmt_free(st);
			return 0;
		}
	return 0;
}

const sql_server_handlers sql_handlers = {
	.connect = on_connect,
	.prepare_statement = on_prepare_statement,
	.execute_statement = on_execute_statement,
	.ready_for_next_result = on_ready_for_next_result,
	.disconnect = on_disconnect,
	.release_statement = on_release_statement,
};

/* --- lifetime ------------------------------------------------------------ */

int sql_peer_init(hv_conn *c, void *state)
{
	struct sql_peer *cl = state;
	cl->conn = c;
	return 0;
}

/* The client is gone: every session ends, open transactions roll back. */
void sql_peer_fini(hv_conn *c, void *state)
{
	struct sql_peer *cl = state;
	while (cl->sessions) {
		struct sql_session *ss = cl->sessions;
		cl->sessions = ss->next;
		session_end(cl, ss);
	}
}

int sql_service_open(hv_server *srv, const char *dir)
{
	db_dir = dir;
	loop = hv_server_loop(srv);
	return sql_db_global_init();
}

void sql_service_close(int exit_code)
{
	/* Every client's fini ran: the databases are closed. */
	if (dbs)
		hv_log_warn("databases still open at exit");
}
