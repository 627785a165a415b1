/* sqlserver-bench — point SELECTs by primary key, one client: through a
 * real SQLServer (its client library, a prepared statement executed with
 * the key as a placeholder) against SQLite in this process (the floor:
 * the same database opened the way the service opens it, the same
 * statement bound and stepped). Both in one run; the ratio is printed.
 *
 *   sqlserver-bench [--quick] [--rows N] [--queries N] [--server PATH]
 *
 * With libpq and Debian's postgresql, the same SELECT on a private
 * PostgreSQL over its Unix socket, as a libpq prepared statement
 * (--no-postgres skips it). Speed is never asserted; --quick is the
 * suite's smoke run (results are checked). */
#include <errno.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBPQ
#include "pg.h"
#endif
#include "sql_client.h"
#include "sql_db.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "sqlserver-bench: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

struct one {
	int64_t id;
	int rows;
};

static int got_row(void *ud, const sql_server_value *v, size_t n)
{
	struct one *o = ud;
	o->id = v[0].integer;
	o->rows++;
	return 0;
}

static pid_t start_server(const char *exe, const char *dir, const char *sock)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(exe, exe, "--socket", sock, "--dir", dir, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
		usleep(10000);
	return pid;
}

/* Through SQLServer; returns queries per second. */
static double bench_server(sqlc *s, uint64_t db, int64_t rows, long queries)
{
	uint64_t st = 0;
	size_t tail;
	sqlc_error err;
	int r = sqlc_prepare(s, db, "SELECT id, v FROM t WHERE id = ?", &st, &tail, &err);
	if (r < 0)
		die("prepare", r == SQLC_ERR_SQL ? EINVAL : r);
	const sqlc_result_ops ops = {.row = got_row};
	double t0 = now_s();
	for (long i = 0; i < queries; i++) {
		int64_t k = (int64_t)((uint64_t)i * 2654435761u % (uint64_t)rows) + 1;
		sql_server_value p = sqlc_int(k);
		struct one o = {0};
		if ((r = sqlc_execute(s, st, &p, 1, &ops, &o, NULL, &err)) < 0)
			die("execute", r == SQLC_ERR_SQL ? EIO : r);
		if (o.rows != 1 || o.id != k)
			die("wrong row", EIO);
	}
	return (double)queries / (now_s() - t0);
}

/* In process, as the service opens the database. */
static double bench_inproc(const char *dir, int64_t rows, long queries)
{
	sqlite3 *h;
	const char *why;
	int r = sql_db_open(dir, "bench", false, &h, &why);
	if (r < 0)
		die("open in process", r);
	sqlite3_stmt *s;
	const char *tail;
	sql_prep_info info;
	if (sql_prepare(h, "SELECT id, v FROM t WHERE id = ?", -1, &s, &tail, &info) != SQLITE_OK)
		die("prepare in process", EINVAL);
	double t0 = now_s();
	for (long i = 0; i < queries; i++) {
		int64_t k = (int64_t)((uint64_t)i * 2654435761u % (uint64_t)rows) + 1;
		sqlite3_bind_int64(s, 1, k);
		if (sqlite3_step(s) != SQLITE_ROW || sqlite3_column_int64(s, 0) != k)
			die("wrong row in process", EIO);
		volatile int len = sqlite3_column_bytes(s, 1);
		(void)len;
		sqlite3_reset(s);
	}
	double qps = (double)queries / (now_s() - t0);
	sqlite3_finalize(s);
	sqlite3_close_v2(h);
	return qps;
}

static void compare_postgres(bool wanted, int64_t rows, long queries, double srv)
{
#ifdef HAVE_LIBPQ
	const char *why = "--no-postgres";
	if (!wanted || pg_start(&why) < 0) {
		printf("  PostgreSQL: skipped (%s)\n", why);
		return;
	}
	pg_point_select(rows, queries / 10 + 1); /* warm */
	double pg = pg_point_select(rows, queries);
	pg_stop();
	if (pg < 0) {
		printf("  PostgreSQL: failed (see above)\n");
		return;
	}
	printf("  PostgreSQL (libpq, prepared, Unix socket) %10.0f queries/s  (%.2f us each)\n", pg,
	       1e6 / pg);
	printf("  SQLServer / PostgreSQL: %.2f (issue 17 asks >= 1.5)\n", srv / pg);
#else
	printf("  PostgreSQL: skipped (built without libpq)\n");
#endif
}

int main(int argc, char **argv)
{
	const char *exe = SQL_BENCH_SERVER;
	bool postgres = true;
	int64_t rows = 100000;
	long queries = 200000;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			rows = 1000;
			queries = 2000;
		} else if (!strcmp(argv[i], "--rows") && i + 1 < argc)
			rows = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--queries") && i + 1 < argc)
			queries = atol(argv[++i]);
		else if (!strcmp(argv[i], "--no-postgres"))
			postgres = false;
		else if (!strcmp(argv[i], "--server") && i + 1 < argc)
			exe = argv[++i];
		else {
			fprintf(stderr, "Usage: sqlserver-bench [--quick] [--rows N] [--queries N] "
					"[--server PATH] [--no-postgres]\n");
			return 2;
		}
	}
	if (rows < 1 || queries < 1)
		die("--rows and --queries must be positive", EINVAL);
	if (sql_db_global_init() < 0)
		die("sqlite", EIO);
	char dir[] = "/tmp/sqlserver-bench-XXXXXX", sock[128], cmd[256];
	if (!mkdtemp(dir))
		die("mkdtemp", errno);
	snprintf(sock, sizeof(sock), "%s/sock", dir);
	pid_t pid = start_server(exe, dir, sock);
	sqlc *s = NULL;
	uint64_t db = 0;
	int r = sqlc_open(sock, &s);
	if (r < 0 || (r = sqlc_connect(s, "bench", &db)) < 0)
		die("SQLServer", r);
	char fill[256];
	snprintf(fill, sizeof(fill),
		 "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
		 "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < %lld)"
		 " INSERT INTO t SELECT x, printf('value %%d', x) FROM c",
		 (long long)rows);
	sqlc_error err;
	if ((r = sqlc_exec(s, db, fill, NULL, NULL, NULL, &err)) < 0)
		die(r == SQLC_ERR_SQL ? err.message : "fill", r == SQLC_ERR_SQL ? EIO : r);
	/* Warm both, then measure alternately, keeping the better of two. */
	bench_server(s, db, rows, queries / 10 + 1);
	bench_inproc(dir, rows, queries / 10 + 1);
	double srv = 0, inp = 0;
	for (int round = 0; round < 2; round++) {
		double a = bench_server(s, db, rows, queries), b = bench_inproc(dir, rows, queries);
		srv = a > srv ? a : srv;
		inp = b > inp ? b : inp;
	}
	printf("point SELECT by primary key, 1 client, %lld rows, %ld queries:\n", (long long)rows,
	       queries);
	printf("  SQLite in process  %10.0f queries/s  (%.2f us each)\n", inp, 1e6 / inp);
	printf("  through SQLServer  %10.0f queries/s  (%.2f us each)\n", srv, 1e6 / srv);
	printf("  SQLServer / in-process: %.3f (%.1fx slower)\n", srv / inp, inp / srv);
	compare_postgres(postgres, rows, queries, srv);
	sqlc_close(s);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
