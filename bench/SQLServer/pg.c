/* pg.c — the PostgreSQL side of sqlserver-bench: a private PostgreSQL
 * from Debian (initdb in a temp dir, its Unix socket there, no TCP),
 * the same table, and the same point SELECT as a libpq prepared
 * statement. As root, PostgreSQL's programs run as the postgres user
 * (initdb refuses root). Any failure skips the comparison with a reason. */
#include <errno.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include <haven/util.h>

#include "pg.h"

static char bindir[256], pgdir[256];
static const char *run_as; /* "postgres" when root */

static int run(const char *prog, const char *args)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s%s%s '%s/%s' %s >'%s/pg.log' 2>&1", run_as ? "runuser -u " : "",
		 run_as ? run_as : "", run_as ? " --" : "", bindir, prog, args, pgdir);
	int st = system(cmd);
	return st == 0 ? 0 : -1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void pg_stop(void)
{
	if (!pgdir[0])
		return;
	char args[512];
	snprintf(args, sizeof(args), "-D '%s/data' -m immediate stop", pgdir);
	run("pg_ctl", args);
	snprintf(args, sizeof(args), "rm -rf '%s'", pgdir);
	if (system(args) != 0)
		fprintf(stderr, "sqlserver-bench: could not remove %s\n", pgdir);
	pgdir[0] = '\0';
}

int pg_start(const char **why)
{
	glob_t g;
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || !g.gl_pathc) {
		*why = "no /usr/lib/postgresql/*/bin/initdb (Debian's postgresql)";
		return -ENOENT;
	}
	snprintf(bindir, sizeof(bindir), "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - 7),
		 g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	snprintf(pgdir, sizeof(pgdir), "/tmp/sqlserver-bench-pg-XXXXXX");
	if (!mkdtemp(pgdir)) {
		pgdir[0] = '\0';
		*why = "mkdtemp";
		return -errno;
	}
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("postgres");
		if (!pw || chown(pgdir, pw->pw_uid, pw->pw_gid) < 0) {
			*why = "running as root and no postgres user to run PostgreSQL as";
			pg_stop();
			return -EPERM;
		}
		run_as = "postgres";
	}
	char args[1024];
	snprintf(args, sizeof(args), "-D '%s/data' -A trust -U bench --no-sync", pgdir);
	if (run("initdb", args) < 0) {
		*why = "initdb failed (see its log)";
		pg_stop();
		return -EIO;
	}
	snprintf(args, sizeof(args),
		 "-D '%s/data' -w -l '%s/server.log' -o \"-c listen_addresses='' -c "
		 "unix_socket_directories='%s'\" start",
		 pgdir, pgdir, pgdir);
	if (run("pg_ctl", args) < 0) {
		*why = "pg_ctl start failed";
		pg_stop();
		return -EIO;
	}
	return 0;
}

static PGconn *pg_connect(void)
{
	char conninfo[512];
	snprintf(conninfo, sizeof(conninfo),
		 "host=%s dbname=postgres user=bench options='-c client_min_messages=warning'", pgdir);
	PGconn *c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "sqlserver-bench: PostgreSQL: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int pg_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "sqlserver-bench: PostgreSQL: %s", PQerrorMessage(c));
	PQclear(r);
	return ok ? 0 : -EIO;
}

static void pq_finishp(PGconn **c)
{
	if (*c)
		PQfinish(*c);
}

double pg_point_select(int64_t rows, long queries)
{
	_hv_cleanup_(pq_finishp) PGconn *c = pg_connect();
	if (!c)
		return -1;
	char fill[256];
	snprintf(fill, sizeof(fill),
		 "CREATE TABLE IF NOT EXISTS t(id bigint PRIMARY KEY, v text);"
		 "INSERT INTO t SELECT x, 'value ' || x FROM generate_series(1, %lld) x "
		 "ON CONFLICT DO NOTHING; ANALYZE t",
		 (long long)rows);
	if (pg_ok(c, fill) < 0)
		return -1;
	PGresult *p = PQprepare(c, "q", "SELECT id, v FROM t WHERE id = $1", 1, NULL);
	int prepared = PQresultStatus(p) == PGRES_COMMAND_OK;
	PQclear(p);
	if (!prepared)
		return -1;
	double t0 = now_s();
	for (long i = 0; i < queries; i++) {
		int64_t k = (int64_t)((uint64_t)i * 2654435761u % (uint64_t)rows) + 1;
		char key[32];
		snprintf(key, sizeof(key), "%lld", (long long)k);
		const char *vals[1] = {key};
		PGresult *r = PQexecPrepared(c, "q", 1, vals, NULL, NULL, 0);
		int good = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
			   atoll(PQgetvalue(r, 0, 0)) == k;
		PQclear(r);
		if (!good)
			return -1;
	}
	return (double)queries / (now_s() - t0);
}
