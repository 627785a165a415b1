/* sql_db.c — opening SQLite handles for SQLServer and guarding what the
 * SQL that clients send can reach.
 *
 * The guard has three layers, so that one mistake is not a hole: the
 * authorizer refuses ATTACH/DETACH, load_extension() and every pragma
 * not on an allow-list (a pragma can move the journal or write files);
 * SQLITE_LIMIT_ATTACHED is 0, which also stops VACUUM (it attaches its
 * target, so VACUUM INTO could write any file), and a first-keyword check
 * gives VACUUM a clear refusal; the DBCONFIG options turn off extension
 * loading and schema tricks (DEFENSIVE, no TRUSTED_SCHEMA). Below all of
 * it the process is sandboxed to its directory. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <haven/log.h>

#include "sql_db.h"

int sql_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SQL_MAX_NAME || name[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* SQLite chowns the -wal and -shm files to the database's owner when it
 * runs as root; every file here is this process's own, so that is a
 * no-op, and the sandbox need not allow chown. */
static int no_fchown(int fd, uid_t uid, gid_t gid) { return 0; }

int sql_db_global_init(void)
{
	if (sqlite3_initialize() != SQLITE_OK)
		return -EIO;
	sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
	if (!vfs || vfs->iVersion < 3 || !vfs->xSetSystemCall ||
	    vfs->xSetSystemCall(vfs, "fchown", (sqlite3_syscall_ptr)no_fchown) != SQLITE_OK)
		return -ENOSYS;
	unsigned char b;
	sqlite3_randomness(1, &b);
	return 0;
}

/* Pragmas a client may use: name, and whether it may take an argument
 * (a table's name to inspect, or a value to set that only concerns the
 * connection or the database's content). Nothing here moves or renames
 * files, changes the journal, or loosens the guard. */
static const struct {
	const char *name;
	bool arg;
} allowed_pragmas[] = {
	{"table_info", true},	     {"table_xinfo", true},	  {"table_list", true},
	{"index_list", true},	     {"index_info", true},	  {"index_xinfo", true},
	{"foreign_key_list", true},  {"foreign_key_check", true}, {"integrity_check", true},
	{"quick_check", true},	     {"collation_list", false},	  {"function_list", false},
	{"page_count", false},	     {"page_size", false},	  {"freelist_count", false},
	{"data_version", false},     {"schema_version", false},	  {"journal_mode", false},
	{"synchronous", false},	     {"encoding", false},	  {"compile_options", false},
	{"user_version", true},	     {"application_id", true},	  {"foreign_keys", true},
	{"defer_foreign_keys", true}, {"recursive_triggers", true}, {"wal_checkpoint", true},
	{"optimize", true},
};

static sql_prep_info *current; /* the statement being compiled (one thread) */

static int deny(const char *why)
{
	if (current && !current->denied)
		current->denied = why;
	return SQLITE_DENY;
}

static int check_pragma(const char *name, const char *value)
{
	for (size_t i = 0; i < sizeof(allowed_pragmas) / sizeof(allowed_pragmas[0]); i++)
		if (!strcasecmp(name, allowed_pragmas[i].name))
			return value && !allowed_pragmas[i].arg
				       ? deny("this pragma may only be read here")
				       : SQLITE_OK;
	return deny("this pragma is not allowed (it could change how or where the database "
		    "is stored)");
}

static int authorize(void *ud, int action, const char *a1, const char *a2, const char *dbname,
		     const char *trigger)
{
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return deny("ATTACH is not allowed: connect to each database by its name");
	case SQLITE_PRAGMA:
		return check_pragma(a1, a2);
	case SQLITE_FUNCTION:
		if (a2 && !strcasecmp(a2, "load_extension"))
			return deny("load_extension() is not allowed");
		return SQLITE_OK;
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		if (current && !trigger)
			current->txn_control = true;
		return SQLITE_OK;
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		if (current && !current->kind && !trigger && a1 && strncmp(a1, "sqlite_", 7))
			current->kind = action;
		return SQLITE_OK;
	default:
		return SQLITE_OK;
	}
}

static int setup_handle(sqlite3 *db, bool writer)
{
	int on = 1, off = 0;
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, off, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, on, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, off, NULL);
	sqlite3_extended_result_codes(db, 1);
	/* Other processes (a sqlite3 shell) may hold locks: wait, briefly. */
	sqlite3_busy_timeout(db, 5000);
	/* Temporary tables and sort spills stay in memory: no files outside
	 * the directory. NORMAL is durable in WAL against a crash of the
	 * process (not of the machine): what an acknowledged commit needs. */
	const char *pragmas = writer ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
				       "PRAGMA temp_store=MEMORY;"
				     : "PRAGMA temp_store=MEMORY;";
	int rc = sqlite3_exec(db, pragmas, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, 1 << 20);
	return sqlite3_set_authorizer(db, authorize, NULL);
}

int sql_db_open(const char *dir, const char *name, bool writer, sqlite3 **out, const char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	if (sql_name_valid(name) < 0)
		return -EINVAL;
	char path[4096];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.db", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	sqlite3 *db = NULL;
	/* NOFOLLOW: a symlink planted in the directory is not a database. */
	int rc = sqlite3_open_v2(path, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
					 SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc == SQLITE_OK)
		rc = setup_handle(db, writer);
	if (rc != SQLITE_OK) {
		*errmsg = db ? sqlite3_errstr(rc) : "out of memory";
		hv_log_warn("cannot open database %s: %s", name, db ? sqlite3_errmsg(db) : "");
		sqlite3_close_v2(db);
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	*out = db;
	return 0;
}

/* Skip blanks and comments; NULL when the text ends inside a comment. */
static const char *skip_blank(const char *s, const char *end)
{
	while (s < end) {
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
			s++;
		else if (s + 1 < end && s[0] == '-' && s[1] == '-') {
			while (s < end && *s != '\n')
				s++;
		} else if (s + 1 < end && s[0] == '/' && s[1] == '*') {
			const char *e = memmem(s + 2, (size_t)(end - s - 2), "*/", 2);
			s = e ? e + 2 : end;
		} else
			break;
	}
	return s;
}

int sql_prepare(sqlite3 *db, const char *sql, int len, sqlite3_stmt **stmt, const char **tail,
		sql_prep_info *info)
{
	*info = (sql_prep_info){0};
	*stmt = NULL;
	const char *start = skip_blank(sql, sql + len);
	if ((sql + len) - start >= 6 && !strncasecmp(start, "VACUUM", 6)) {
		/* VACUUM attaches a database, which LIMIT_ATTACHED refuses with
		 * a puzzling message; say why here. */
		info->denied = "VACUUM is not allowed here (VACUUM INTO writes a file)";
		*tail = sql + len;
		return SQLITE_AUTH;
	}
	current = info;
	int rc = sqlite3_prepare_v3(db, sql, len, SQLITE_PREPARE_PERSISTENT, stmt, tail);
	current = NULL;
	if (rc != SQLITE_OK && rc != SQLITE_AUTH)
		info->denied = NULL; /* a syntax error found first: SQLite's message */
	return rc;
}
