/* test-sqlserver — SQLServer in a real process, on a socket handed over as
 * SystemServer would, through its client library: results and their
 * types, bad input (typed errors, SQLite's code/message/offset, the
 * guard), 8 readers and 2 writers at once (no SQLITE_BUSY, counts add
 * up), a client killed inside a transaction (its rows vanish, the writer
 * is freed), and a million-row result read slowly with the server's
 * memory measured. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "service.h"
#include "sql_client.h"

static svc_fixture fx;

static sqlc *open_client(void)
{
	sqlc *s = NULL;
	REQUIRE_EQ(sqlc_open(fx.sock, &s), 0);
	return s;
}

static uint64_t connect_db(sqlc *s, const char *name)
{
	uint64_t id = 0;
	int r = sqlc_connect(s, name, &id);
	REQUIRE_EQ(r, 0);
	REQUIRE(id != 0);
	return id;
}

/* Run SQL that must succeed. */
static void ok(sqlc *s, uint64_t db, const char *sql)
{
	sqlc_error err = {0};
	int r = sqlc_exec(s, db, sql, NULL, NULL, NULL, &err);
	if (r != 0)
		fprintf(stderr, "FAILED: %s: %d %s\n", sql, r, err.message);
	REQUIRE_EQ(r, 0);
}

static int grab_int(void *ud, const sql_server_value *v, size_t n)
{
	REQUIRE_EQ(n, 1u);
	REQUIRE_EQ(v[0].type, SQL_SERVER_VALUE_TYPE_INTEGER);
	*(int64_t *)ud = v[0].integer;
	return 0;
}

static int64_t scalar(sqlc *s, uint64_t db, const char *sql)
{
	int64_t v = -1;
	sqlc_error err = {0};
	const sqlc_result_ops ops = {.row = grab_int};
	int r = sqlc_exec(s, db, sql, &ops, &v, NULL, &err);
	if (r != 0)
		fprintf(stderr, "FAILED: %s: %d %s\n", sql, r, err.message);
	REQUIRE_EQ(r, 0);
	return v;
}

/* --- values round-trip with their types -------------------------------- */

struct seen {
	int rows;
	sql_server_value v[5];
	uint8_t text[16], blob[16];
};

static int keep_row(void *ud, const sql_server_value *v, size_t n)
{
	struct seen *s = ud;
	REQUIRE_EQ(n, 5u);
	memcpy(s->v, v, sizeof(s->v));
	memcpy(s->text, v[3].data.data, v[3].data.len < 16 ? v[3].data.len : 16);
	memcpy(s->blob, v[4].data.data, v[4].data.len < 16 ? v[4].data.len : 16);
	s->rows++;
	return 0;
}

static void test_values(void)
{
	sqlc *s = open_client();
	uint64_t db = connect_db(s, "values");
	ok(s, db, "CREATE TABLE t(a, b, c, d, e)");
	uint64_t st = 0;
	size_t tail = 0;
	sqlc_error err = {0};
	const char *ins = "INSERT INTO t VALUES(?, ?, ?, ?, ?)";
	REQUIRE_EQ(sqlc_prepare(s, db, ins, &st, &tail, &err), 0);
	CHECK_EQ(tail, strlen(ins));
	const uint8_t text[] = "h\xc3\xa9\0llo", blob[] = {0, 1, 2, 255};
	sql_server_value p[5] = {
		{.type = SQL_SERVER_VALUE_TYPE_NULL},
		sqlc_int(-42),
		{.type = SQL_SERVER_VALUE_TYPE_REAL, .real = 2.5},
		{.type = SQL_SERVER_VALUE_TYPE_TEXT, .data = {text, 7}},
		{.type = SQL_SERVER_VALUE_TYPE_BLOB, .data = {blob, 4}},
	};
	sqlc_summary sum = {0};
	REQUIRE_EQ(sqlc_execute(s, st, p, 5, NULL, NULL, &sum, &err), 0);
	CHECK_EQ(sum.created, 1u);
	CHECK(!sum.has_results);
	struct seen seen = {0};
	const sqlc_result_ops ops = {.row = keep_row};
	REQUIRE_EQ(sqlc_exec(s, db, "SELECT * FROM t", &ops, &seen, &sum, &err), 0);
	CHECK_EQ(seen.rows, 1);
	CHECK_EQ(sum.rows, 1u);
	CHECK_EQ(seen.v[0].type, SQL_SERVER_VALUE_TYPE_NULL);
	CHECK_EQ(seen.v[1].integer, -42);
	CHECK(seen.v[2].type == SQL_SERVER_VALUE_TYPE_REAL && seen.v[2].real == 2.5);
	CHECK(seen.v[3].type == SQL_SERVER_VALUE_TYPE_TEXT && seen.v[3].data.len == 7 &&
	      !memcmp(seen.text, text, 7));
	CHECK(seen.v[4].type == SQL_SERVER_VALUE_TYPE_BLOB && seen.v[4].data.len == 4 &&
	      !memcmp(seen.blob, blob, 4));
	/* UPDATE and DELETE counts. */
	REQUIRE_EQ(sqlc_exec(s, db, "UPDATE t SET a = 1", NULL, NULL, &sum, &err), 0);
	CHECK_EQ(sum.updated, 1u);
	REQUIRE_EQ(sqlc_exec(s, db, "DELETE FROM t", NULL, NULL, &sum, &err), 0);
	CHECK_EQ(sum.deleted, 1u);
	sqlc_close(s);
}

/* --- bad input ------------------------------------------------------------- */

static int exec_err(sqlc *s, uint64_t db, const char *sql, sqlc_error *err)
{
	*err = (sqlc_error){0};
	return sqlc_exec(s, db, sql, NULL, NULL, NULL, err);
}

static void test_bad_input(void)
{
	sqlc *s = open_client();
	uint64_t id;
	const char *bad[] = {"", "../x", "a/b", "-x", ".", "a b", "x.db",
			     "0123456789012345678901234567890123456789012345678901234567890123456789"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(sqlc_connect(s, bad[i], &id), SQL_SERVER_ERR_BAD_NAME);
	uint64_t db = connect_db(s, "bad");
	sqlc_error err;
	/* SQLite's code, message and offset. */
	CHECK_EQ(exec_err(s, db, "SELECT 1; SELEC 2", &err), SQLC_ERR_SQL);
	CHECK_EQ(err.code, 1);
	CHECK_EQ(err.offset, 10);
	CHECK(strstr(err.message, "syntax error"));
	CHECK_EQ(exec_err(s, db, "CREATE TABLE t(x UNIQUE); INSERT INTO t VALUES(1),(1)", &err),
		 SQLC_ERR_SQL);
	CHECK_EQ(err.code, 2067); /* SQLITE_CONSTRAINT_UNIQUE */
	/* Placeholders. */
	uint64_t st = 0;
	size_t tail;
	REQUIRE_EQ(sqlc_prepare(s, db, "SELECT ?, ?", &st, &tail, &err), 0);
	sql_server_value one = sqlc_int(1);
	CHECK_EQ(sqlc_execute(s, st, &one, 1, NULL, NULL, NULL, &err), SQL_SERVER_ERR_BAD_PARAMETERS);
	CHECK(strstr(sqlc_strerror(s, SQL_SERVER_ERR_BAD_PARAMETERS), "2 placeholders"));
	sql_server_value badtext[2] = {one, {.type = SQL_SERVER_VALUE_TYPE_TEXT,
					     .data = {(const uint8_t *)"\xff\xfe", 2}}};
	CHECK_EQ(sqlc_execute(s, st, badtext, 2, NULL, NULL, NULL, &err),
		 SQL_SERVER_ERR_BAD_PARAMETERS);
	/* Unknown ids. */
	CHECK_EQ(sqlc_execute(s, 999999, NULL, 0, NULL, NULL, NULL, &err),
		 SQL_SERVER_ERR_NO_SUCH_STATEMENT);
	CHECK_EQ(sqlc_prepare(s, 999999, "SELECT 1", &st, &tail, &err),
		 SQL_SERVER_ERR_NO_SUCH_CONNECTION);
	/* Another client's ids are unknown here. */
	sqlc *other = open_client();
	CHECK_EQ(sqlc_prepare(other, db, "SELECT 1", &st, &tail, &err),
		 SQL_SERVER_ERR_NO_SUCH_CONNECTION);
	sqlc_close(other);
	/* What SQL must not reach. */
	CHECK_EQ(exec_err(s, db, "ATTACH '/tmp/x.db' AS x", &err), SQLC_ERR_SQL);
	CHECK_EQ(err.code, 23); /* SQLITE_AUTH */
	CHECK(strstr(err.message, "ATTACH"));
	CHECK_EQ(exec_err(s, db, "ATTACH 'bad2.db' AS x", &err), SQLC_ERR_SQL);
	CHECK_EQ(exec_err(s, db, "/* hi */ vacuum INTO '/tmp/y.db'", &err), SQLC_ERR_SQL);
	CHECK_EQ(err.code, 23);
	CHECK_EQ(exec_err(s, db, "SELECT load_extension('/tmp/evil.so')", &err), SQLC_ERR_SQL);
	CHECK_EQ(exec_err(s, db, "PRAGMA journal_mode=DELETE", &err), SQLC_ERR_SQL);
	CHECK_EQ(exec_err(s, db, "PRAGMA writable_schema=ON", &err), SQLC_ERR_SQL);
	CHECK_EQ(exec_err(s, db, "PRAGMA temp_store_directory='/tmp'", &err), SQLC_ERR_SQL);
	CHECK_EQ(access("/tmp/x.db", F_OK), -1);
	CHECK_EQ(access("/tmp/y.db", F_OK), -1);
	/* A row over the IPC message limit (128 MiB) is an error, not a gap. */
	CHECK_EQ(exec_err(s, db, "SELECT 1 UNION ALL SELECT zeroblob(136314880)", &err), SQLC_ERR_SQL);
	CHECK_EQ(err.code, 18); /* SQLITE_TOOBIG */
	CHECK(strstr(err.message, "message size limit"));
	/* Still serving, and the journal is still WAL. */
	CHECK_EQ(exec_err(s, db, "PRAGMA table_info(t); PRAGMA journal_mode", &err), 0);
	sqlc_close(s);
}

/* --- concurrency: 8 readers, 2 writers ------------------------------------ */

#define WRITES 300

static void worker(int k, int report_fd, void *ud)
{
	sqlc *s = open_client();
	uint64_t db = connect_db(s, "conc");
	uint64_t committed = 0;
	if (k < 2) {
		/* Half single-row autocommits, half in transactions of 5. */
		for (int i = 0; i < WRITES / 2; i++) {
			char sql[128];
			snprintf(sql, sizeof(sql), "INSERT INTO t(w) VALUES(%d)", k);
			ok(s, db, sql);
			committed++;
		}
		for (int i = 0; i < WRITES / 10; i++) {
			ok(s, db, "BEGIN");
			for (int j = 0; j < 5; j++) {
				char sql[128];
				snprintf(sql, sizeof(sql), "INSERT INTO t(w) VALUES(%d)", k);
				ok(s, db, sql);
			}
			ok(s, db, "COMMIT");
			committed += 5;
		}
	} else {
		int64_t last = 0;
		for (int i = 0; i < 200; i++) {
			int64_t n = scalar(s, db, "SELECT count(*) FROM t");
			REQUIRE(n >= last); /* a reader never goes back in time */
			last = n;
		}
	}
	sqlc_close(s);
	REQUIRE_EQ(write(report_fd, &committed, sizeof committed), (ssize_t)sizeof committed);
}

static void test_concurrency(void)
{
	sqlc *s = open_client();
	uint64_t db = connect_db(s, "conc");
	ok(s, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, w INTEGER)");
	uint64_t got[16];
	size_t n = svc_run_clients(10, worker, NULL, got, 16);
	CHECK_EQ(n, 10u);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += got[i];
	CHECK_EQ(total, 2u * WRITES);
	CHECK_EQ(scalar(s, db, "SELECT count(*) FROM t"), (int64_t)total);
	CHECK_EQ(scalar(s, db, "SELECT count(*) FROM t WHERE w = 1"), WRITES);
	sqlc_close(s);
}

/* --- a client killed inside a transaction --------------------------------- */

static void test_killed_in_transaction(void)
{
	sqlc *s = open_client();
	uint64_t db = connect_db(s, "killed");
	ok(s, db, "CREATE TABLE t(x); INSERT INTO t VALUES(1)");
	int p[2];
	REQUIRE_EQ(pipe(p), 0);
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		sqlc *c = open_client();
		uint64_t cdb = connect_db(c, "killed");
		ok(c, cdb, "BEGIN; INSERT INTO t VALUES(2); INSERT INTO t VALUES(3)");
		REQUIRE_EQ(scalar(c, cdb, "SELECT count(*) FROM t"), 3);
		REQUIRE_EQ(write(p[1], "x", 1), 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	char b;
	REQUIRE_EQ(read(p[0], &b, 1), 1);
	close(p[0]);
	/* Others read the committed state meanwhile. */
	CHECK_EQ(scalar(s, db, "SELECT count(*) FROM t"), 1);
	kill(pid, SIGKILL);
	int status;
	REQUIRE_EQ(waitpid(pid, &status, 0), pid);
	/* Its rows are gone and the writer is free again: this write would
	 * wait for ever otherwise. */
	ok(s, db, "INSERT INTO t VALUES(4)");
	CHECK_EQ(scalar(s, db, "SELECT count(*) FROM t"), 2);
	CHECK_EQ(scalar(s, db, "SELECT sum(x) FROM t"), 5);
	sqlc_close(s);
}

/* --- a large result, read slowly, with the server's memory flat ---------- */

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	REQUIRE(f);
	long kib = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

struct stream {
	uint64_t rows, bytes;
	long base, peak;
};

static int slow_row(void *ud, const sql_server_value *v, size_t n)
{
	struct stream *st = ud;
	REQUIRE_EQ(v[0].integer, (int64_t)st->rows + 1); /* in order, none lost */
	st->rows++;
	st->bytes += v[1].data.len + 8;
	if (st->rows % 20000 == 0) {
		usleep(20000); /* a slow reader */
		long k = rss_kib(fx.pid);
		if (k > st->peak)
			st->peak = k;
	}
	return 0;
}

static void test_large_result(void)
{
	const int64_t N = 1000000;
	sqlc *s = open_client();
	uint64_t db = connect_db(s, "big");
	ok(s, db, "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
		  "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000)"
		  " INSERT INTO t SELECT x, printf('%0100d', x) FROM c");
	/* A first pass warms the page cache, then the measured one. */
	CHECK_EQ(scalar(s, db, "SELECT count(*) FROM t"), N);
	struct stream st = {.base = rss_kib(fx.pid)};
	st.peak = st.base;
	const sqlc_result_ops ops = {.row = slow_row};
	sqlc_summary sum = {0};
	sqlc_error err = {0};
	REQUIRE_EQ(sqlc_exec(s, db, "SELECT id, v FROM t ORDER BY id", &ops, &st, &sum, &err), 0);
	CHECK_EQ(st.rows, (uint64_t)N);
	CHECK_EQ(sum.rows, (uint64_t)N);
	printf("# streamed %llu rows (%llu MiB): server RSS %ld KiB before, peak %ld KiB (+%ld KiB)\n",
	       (unsigned long long)st.rows, (unsigned long long)(st.bytes >> 20), st.base, st.peak,
	       st.peak - st.base);
	/* Flat: far below what was streamed (> 100 MiB). */
	CHECK_MSG(st.peak - st.base < 16 * 1024, "server grew by %ld KiB", st.peak - st.base);
	sqlc_close(s);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2);
	/* Under AddressSanitizer freed memory waits in a 256 MiB quarantine
	 * before reuse, which the RSS measure would count as growth: keep it
	 * small for the service (ignored by a build without ASan). */
	static char asan[512];
	const char *prev = getenv("ASAN_OPTIONS");
	snprintf(asan, sizeof(asan), "%s%squarantine_size_mb=1", prev ? prev : "", prev ? ":" : "");
	setenv("ASAN_OPTIONS", asan, 1);
	static const char *args[4];
	svc_prepare(&fx, argv[1], "sql", args);
	static char dir[256];
	snprintf(dir, sizeof(dir), "%s/data", fx.dir);
	REQUIRE_EQ(mkdir(dir, 0700), 0);
	args[0] = "--dir";
	args[1] = dir;
	svc_respawn(&fx);
	test_values();
	test_bad_input();
	test_concurrency();
	test_killed_in_transaction();
	test_large_result();
	svc_stop(&fx);
	return check_result();
}
