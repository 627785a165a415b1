/* sql — SQL on SQLServer from the shell, for scripts:
 *
 *   sql [--socket PATH] DB "SQL" [--json|--csv]
 *
 * Runs every statement of SQL in the database DB and prints the rows:
 * by default as sqlite3's list mode (values joined by '|'), or CSV with a
 * header line, or a JSON array of objects. A thin layer on the client
 * library (services/SQLServer/sql_client.h); the interactive shell is to
 * come. Exit status: 0 ok, 1 an error (SQL or service), 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/options.h>

#include "cli.h"

#include "sql_client.h"

enum mode { MODE_LIST, MODE_CSV, MODE_JSON };

struct out {
	enum mode mode;
	const char *const *names;
	char **cols; /* copies: names stay valid only during the event */
	size_t ncols;
	uint64_t rows; /* of the current statement */
	bool any_json;
};

static void put_real(double d)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, sizeof(buf), "%.17g", d);
	/* A real stays a real when read back. */
	if (!strpbrk(buf, ".eninf"))
		strcat(buf, ".0");
	fputs(buf, stdout);
}

static void put_hex(const hv_bytes *b)
{
	for (size_t i = 0; i < b->len; i++)
		printf("%02x", b->data[i]);
}

static void put_csv_text(const uint8_t *p, size_t n)
{
	bool quote = false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r')
			quote = true;
	if (!quote) {
		fwrite(p, 1, n, stdout);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"')
			putchar('"');
		putchar(p[i]);
	}
	putchar('"');
}

static void put_json_text(const uint8_t *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void put_value(enum mode m, const sql_server_value *v)
{
	switch (v->type) {
	case SQL_SERVER_VALUE_TYPE_NULL:
		if (m == MODE_JSON)
			fputs("null", stdout);
		break;
	case SQL_SERVER_VALUE_TYPE_INTEGER: printf("%" PRId64, v->integer); break;
	case SQL_SERVER_VALUE_TYPE_REAL: put_real(v->real); break;
	case SQL_SERVER_VALUE_TYPE_TEXT:
		if (m == MODE_JSON)
			put_json_text(v->data.data, v->data.len);
		else if (m == MODE_CSV)
			put_csv_text(v->data.data, v->data.len);
		else
			fwrite(v->data.data, 1, v->data.len, stdout);
		break;
	case SQL_SERVER_VALUE_TYPE_BLOB:
		/* As SQL would write it, so it is not mistaken for text. */
		fputs(m == MODE_JSON ? "\"X'" : "X'", stdout);
		put_hex(&v->data);
		fputs(m == MODE_JSON ? "'\"" : "'", stdout);
		break;
	}
}

static void free_cols(struct out *o)
{
	for (size_t i = 0; i < o->ncols; i++)
		free(o->cols[i]);
	free(o->cols);
	o->cols = NULL;
	o->ncols = 0;
}

static int on_columns(void *ud, const char *const *names, size_t n)
{
	struct out *o = ud;
	free_cols(o);
	o->rows = 0;
	o->cols = calloc(n ? n : 1, sizeof(char *));
	if (!o->cols)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (!(o->cols[o->ncols++] = strdup(names[i])))
			return -ENOMEM;
	return 0;
}

static int on_row(void *ud, const sql_server_value *v, size_t n)
{
	struct out *o = ud;
	if (o->mode == MODE_CSV && o->rows == 0) {
		for (size_t i = 0; i < o->ncols; i++) {
			if (i)
				putchar(',');
			put_csv_text((const uint8_t *)o->cols[i], strlen(o->cols[i]));
		}
		putchar('\n');
	}
	if (o->mode == MODE_JSON)
		fputs(o->any_json ? ",\n{" : "[{", stdout);
	for (size_t i = 0; i < n; i++) {
		if (o->mode == MODE_JSON) {
			if (i)
				putchar(',');
			const char *name = i < o->ncols ? o->cols[i] : "?";
			put_json_text((const uint8_t *)name, strlen(name));
			putchar(':');
		} else if (i)
			putchar(o->mode == MODE_CSV ? ',' : '|');
		put_value(o->mode, &v[i]);
	}
	if (o->mode == MODE_JSON) {
		putchar('}');
		o->any_json = true;
	} else
		putchar('\n');
	o->rows++;
	return ferror(stdout) ? -EIO : 0;
}

static const hv_cmdline *cmdline;
static void usage(FILE *f) { hv_options_usage(cmdline, f); }

int main(int argc, char **argv)
{
	const char *socket_path = NULL;
	bool json = false, csv = false;
	const hv_option options[] = {
		HV_OPT_STRING("socket", "PATH", &socket_path, "SQLServer's socket (default: the \"sql\" portal)"),
		HV_OPT_FLAG("json", &json, "print rows as a JSON array of objects"),
		HV_OPT_FLAG("csv", &csv, "print rows as CSV with a header line"),
		{0},
	};
	const hv_option *const tables[] = {options, NULL};
	const hv_cmdline cmd = {
		.name = "sql",
		.args = "DB SQL",
		.summary = "Run SQL in the database DB of SQLServer and print the rows\n"
			   "(default: values joined by '|'). Exit status: 0 ok, 1 error, 2 usage.\n"
			   CLI_TIMEOUT_HELP,
		.tables = tables,
		.min_args = 2,
		.max_args = 2,
	};
	cmdline = &cmd;
	cli_init("sql", "SQLServer", usage);
	/* Options may follow DB and SQL (`sql DB "SQL" --json`). */
	hv_options_permute(&cmd, argc, argv);
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r != 1)
		return hv_options_exit_code(r);
	if (json && csv) {
		fprintf(stderr, "sql: --json and --csv exclude each other\n");
		return 2;
	}
	const char *db = argv[first], *text = argv[first + 1];
	sqlc *s = NULL;
	if ((r = sqlc_open(socket_path, &s)) < 0) {
		fprintf(stderr, "sql: cannot reach SQLServer: %s\n", sqlc_strerror(NULL, r));
		return 1;
	}
	sqlc_set_timeout(s, cli_timeout_ms());
	uint64_t conn = 0;
	struct out o = {.mode = json ? MODE_JSON : csv ? MODE_CSV : MODE_LIST};
	sqlc_error err = {0};
	const sqlc_result_ops ops = {.columns = on_columns, .row = on_row};
	r = sqlc_connect(s, db, &conn);
	if (r < 0) {
		cli_fail(sqlc_conn(s), r, "connect");
	} else if ((r = sqlc_exec(s, conn, text, &ops, &o, NULL, &err)) == SQLC_ERR_SQL) {
		if (err.offset >= 0)
			fprintf(stderr, "sql: error at offset %d: %s (SQLite code %d)\n", err.offset,
				err.message, err.code);
		else
			fprintf(stderr, "sql: error: %s (SQLite code %d)\n", err.message, err.code);
	} else if (r < 0) {
		cli_fail(sqlc_conn(s), r, "run");
	}
	if (o.any_json)
		fputs("]\n", stdout);
	free_cols(&o);
	sqlc_close(s);
	if (fflush(stdout) != 0 && r >= 0) {
		fprintf(stderr, "sql: cannot write the output\n");
		return 1;
	}
	return r < 0 ? 1 : 0;
}
