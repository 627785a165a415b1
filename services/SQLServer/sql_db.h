/* sql_db.h — SQLite handles as SQLServer opens them: named databases in one
 * directory, WAL, and a guard on what SQL may reach (no ATTACH, no
 * extensions, no VACUUM INTO, only pragmas that cannot write files).
 * No IPC here: the unit tests and the benchmark use it directly. */
#pragma once

#include <stdbool.h>
#include <sqlite3.h>

/* Longest database name; names are [A-Za-z0-9_-], not starting with '-'. */
#define SQL_MAX_NAME 64

/* 0 when `name` is a valid database name, else -EINVAL. */
int sql_name_valid(const char *name);

/* Process-wide: initialise SQLite and its randomness before the sandbox
 * is entered (its VFS reads /dev/urandom lazily otherwise). */
int sql_db_global_init(void);

/* Open dir/NAME.db (created when missing) guarded and in WAL mode.
 * `writer`: the one handle that writes (it sets the journal mode). Returns
 * 0 or a negative errno; *errmsg (static or NULL) says what SQLite said. */
int sql_db_open(const char *dir, const char *name, bool writer, sqlite3 **out, const char **errmsg);

/* What the guard learnt while compiling the last statement. */
typedef struct sql_prep_info {
	bool txn_control;   /* BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE */
	int kind;	    /* SQLITE_INSERT / _UPDATE / _DELETE of its first change, or 0 */
	const char *denied; /* why the guard refused it, or NULL */
} sql_prep_info;

/* sqlite3_prepare_v3 under the guard. On failure returns SQLite's code,
 * and err* say its message (the guard's own when it refused) and offset. */
int sql_prepare(sqlite3 *db, const char *sql, int len, sqlite3_stmt **stmt, const char **tail,
		sql_prep_info *info);
