/* config — read, change and watch settings held by ConfigServer.
 *
 * A thin layer on the generated ConfigServer client: each command is one
 * or two calls. Exit codes: 0 done, 1 failed (or `get`: no such key),
 * 2 bad usage.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "cli.h"

#include "config-client.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: config [--socket PATH] COMMAND ...\n"
		"Read, change and watch settings held by ConfigServer.\n"
		"\n"
		"  get DOMAIN GROUP KEY [--type string|i32|u32|bool]\n"
		"                        print the value; exit 1 if it is absent\n"
		"  set DOMAIN GROUP KEY VALUE [--type string|i32|u32|bool]\n"
		"                        write the value (on disk before this returns)\n"
		"  rm DOMAIN GROUP [KEY] remove a key, or a whole group\n"
		"  add DOMAIN GROUP      create an empty group\n"
		"  list DOMAIN [GROUP]   the groups of DOMAIN, or GROUP's KEY=VALUE lines\n"
		"  batch DOMAIN          apply the lines of stdin atomically (all or none):\n"
		"                        'set GROUP KEY VALUE', 'rm GROUP [KEY]', 'add GROUP'\n"
		"  watch DOMAIN          print one line per change until interrupted:\n"
		"                        'changed GROUP KEY VALUE', 'removed-key GROUP KEY',\n"
		"                        'removed-group GROUP', 'added-group GROUP'\n"
		"\n"
		"  --socket PATH         ConfigServer's socket (default: the 'config' portal)\n"
		"  --help                this text\n" CLI_TIMEOUT_HELP);
}

enum vtype { T_STRING, T_I32, T_U32, T_BOOL };

/* What the options said, for every verb, and the connection of the sync
 * verbs (made on first use; main closes it). */
struct options {
	const char *socket_path;
	enum vtype type;
	bool typed; /* --type given: only get and set take it */
	hv_conn *conn;
};

static int connect_to(hv_loop *loop, const struct options *o, hv_conn **c)
{
	return cli_connect(loop, CONF_PORTAL, o->socket_path, c);
}

/* The connection of a sync verb, or NULL (the error said). */
static hv_conn *conn_of(struct options *o)
{
	if (!o->conn && connect_to(NULL, o, &o->conn) < 0)
		o->conn = NULL;
	/* One read per key and gone: a cache would only add monitor_domain. */
	if (o->conn && conf_set_cache(o->conn, false) < 0) {
		fprintf(stderr, "config: out of memory\n");
		return NULL;
	}
	return o->conn;
}

static int cmd_get(int argc, char **argv, void *userdata)
{
	struct options *o = userdata;
	hv_conn *c = conn_of(o);
	char **a = argv + 1;
	int r = 0;
	if (!c)
		return 1;
	_hv_free_ char *s = NULL;
	int32_t i = 0;
	uint32_t u = 0;
	bool b = false;
	switch (o->type) {
	case T_STRING: r = conf_read_string(c, a[0], a[1], a[2], &s); break;
	case T_I32: r = conf_read_i32(c, a[0], a[1], a[2], &i); break;
	case T_U32: r = conf_read_u32(c, a[0], a[1], a[2], &u); break;
	case T_BOOL: r = conf_read_bool(c, a[0], a[1], a[2], &b); break;
	}
	if (r < 0)
		return cli_fail(c, r, "get");
	if (r == 0)
		return 1; /* absent: nothing printed */
	switch (o->type) {
	case T_STRING: printf("%s\n", s); break;
	case T_I32: printf("%d\n", i); break;
	case T_U32: printf("%u\n", u); break;
	case T_BOOL: printf("%s\n", b ? "true" : "false"); break;
	}
	return 0;
}

static int cmd_set(int argc, char **argv, void *userdata)
{
	struct options *o = userdata;
	char **a = argv + 1;
	int r = 0;
	int64_t i;
	uint64_t u;
	hv_conn *c = conn_of(o);
	if (!c)
		return 1;
	switch (o->type) {
	case T_STRING:
		r = conf_write_string(c, a[0], a[1], a[2], a[3]);
		break;
	case T_I32:
		if (hv_parse_i64(a[3], INT32_MIN, INT32_MAX, &i) < 0) {
			fprintf(stderr, "config: '%s' is not an i32\n", a[3]);
			return 2;
		}
		r = conf_write_i32(c, a[0], a[1], a[2], (int32_t)i);
		break;
	case T_U32:
		if (hv_parse_u64(a[3], UINT32_MAX, &u) < 0) {
			fprintf(stderr, "config: '%s' is not a u32\n", a[3]);
			return 2;
		}
		r = conf_write_u32(c, a[0], a[1], a[2], (uint32_t)u);
		break;
	case T_BOOL:
		if (strcmp(a[3], "true") && strcmp(a[3], "false")) {
			fprintf(stderr, "config: '%s' is not true or false\n", a[3]);
			return 2;
		}
		r = conf_write_bool(c, a[0], a[1], a[2], !strcmp(a[3], "true"));
		break;
	}
	return r < 0 ? cli_fail(c, r, "set") : 0;
}

static void strv_clearp(hv_strv *l) { hv_strv_clear(l); }

static int cmd_list(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	char **a = argv + 1;
	_hv_cleanup_(strv_clearp) hv_strv names = {0};
	int r;
	if (!c)
		return 1;
	if (argc == 2) {
		if ((r = conf_list_groups(c, a[0], &names)) < 0)
			return cli_fail(c, r, "list");
		for (size_t i = 0; i < names.n; i++)
			printf("%s\n", names.v[i]);
		return 0;
	}
	if ((r = conf_list_keys(c, a[0], a[1], &names)) < 0)
		return cli_fail(c, r, "list");
	for (size_t i = 0; i < names.n; i++) {
		_hv_free_ char *v = NULL;
		if ((r = conf_read_string(c, a[0], a[1], names.v[i], &v)) < 0)
			return cli_fail(c, r, "list");
		if (r > 0) /* it may have been removed meanwhile */
			printf("%s=%s\n", names.v[i], v);
	}
	return 0;
}

/* --- batch ---------------------------------------------------------------- */
static int cmd_batch(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	const char *domain = argv[1];
	if (!c)
		return 1;
	conf_op *ops = NULL;
	size_t n = 0;
	char *line = NULL, **words = NULL;
	size_t cap = 0, n_words = 0;
	unsigned lineno = 0;
	int ret = 0;
	while (getline(&line, &cap, stdin) >= 0) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		/* "set GROUP KEY VALUE...": the value is the rest of the line. */
		char *p = line, *w[3] = {0};
		int nw = 0;
		while (nw < 3 && *p) {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			w[nw++] = p;
			p += strcspn(p, " ");
			if (*p)
				*p++ = '\0';
		}
		if (nw == 0 || w[0][0] == '#')
			continue;
		conf_op op = {.key = "", .value = ""};
		const char *rest = p;
		if (!strcmp(w[0], "set") && nw == 3) {
			op.kind = CONF_OP_SET;
			op.group = w[1];
			op.key = w[2];
			op.value = rest;
		} else if (!strcmp(w[0], "rm") && nw >= 2) {
			op.kind = nw == 3 ? CONF_OP_REMOVE_KEY : CONF_OP_REMOVE_GROUP;
			op.group = w[1];
			if (nw == 3)
				op.key = w[2];
			if (*rest) {
				fprintf(stderr, "config: stdin:%u: rm takes GROUP [KEY]\n", lineno);
				ret = 2;
				break;
			}
		} else if (!strcmp(w[0], "add") && nw == 2 && !*rest) {
			op.kind = CONF_OP_ADD_GROUP;
			op.group = w[1];
		} else {
			fprintf(stderr, "config: stdin:%u: expected 'set GROUP KEY VALUE', "
					"'rm GROUP [KEY]' or 'add GROUP'\n", lineno);
			ret = 2;
			break;
		}
		/* Keep the strings: the line buffer is reused. */
		char **nwv = reallocarray(words, n_words + 3, sizeof(*nwv));
		conf_op *nops = reallocarray(ops, n + 1, sizeof(*nops));
		if (nwv)
			words = nwv;
		if (nops)
			ops = nops;
		if (!nwv || !nops) {
			ret = cli_fail(NULL, -ENOMEM, "batch");
			break;
		}
		op.group = words[n_words++] = strdup(op.group);
		op.key = words[n_words++] = strdup(op.key);
		op.value = words[n_words++] = strdup(op.value);
		if (!op.group || !op.key || !op.value) {
			ret = cli_fail(NULL, -ENOMEM, "batch");
			break;
		}
		ops[n++] = op;
	}
	if (ret == 0) {
		int r = conf_write_batch(c, domain, ops, n);
		if (r < 0)
			ret = cli_fail(c, r, "batch");
	}
	for (size_t i = 0; i < n_words; i++)
		free(words[i]);
	free(words);
	free(ops);
	free(line);
	return ret;
}

/* --- watch ---------------------------------------------------------------- */
/* One line per event; a value's newlines are shown as \n so lines stay lines. */
static void print_value(const char *v)
{
	for (; *v; v++) {
		if (*v == '\n')
			fputs("\\n", stdout);
		else if (*v == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*v);
	}
}

static void on_event(const conf_event *e, void *userdata)
{
	switch (e->kind) {
	case CONF_CHANGED:
		printf("changed %s %s ", e->group, e->key);
		print_value(e->value);
		putchar('\n');
		break;
	case CONF_REMOVED_KEY: printf("removed-key %s %s\n", e->group, e->key); break;
	case CONF_REMOVED_GROUP: printf("removed-group %s\n", e->group); break;
	case CONF_ADDED_GROUP: printf("added-group %s\n", e->group); break;
	}
	fflush(stdout);
}

static const conf_watcher watcher = {on_event, NULL};

static void on_quit_signal(hv_loop *loop, int signo, void *userdata) { hv_loop_quit(loop, 0); }

static void on_server_gone(hv_conn *c, void *userdata)
{
	fprintf(stderr, "config: watch: ConfigServer closed the connection\n");
	hv_loop_quit(hv_conn_loop(c), 1);
}

/* The watched connection is ours to close: no "server gone" then. */
static void close_watched(hv_conn **c)
{
	if (*c) {
		hv_conn_on_disconnect(*c, NULL, NULL);
		hv_conn_close(*c);
	}
}

static int cmd_watch(int argc, char **argv, void *userdata)
{
	const char *domain = argv[1];
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = NULL;
	_hv_cleanup_(close_watched) hv_conn *c = NULL;
	int r;
	if ((r = hv_loop_new(&loop)) < 0)
		return cli_fail(NULL, r, "watch");
	if (hv_loop_add_signal(loop, SIGINT, on_quit_signal, NULL, NULL) < 0 ||
	    hv_loop_add_signal(loop, SIGTERM, on_quit_signal, NULL, NULL) < 0 ||
	    connect_to(loop, userdata, &c) < 0)
		return 1;
	if ((r = conf_monitor(c, domain, &watcher)) < 0)
		return cli_fail(c, r, "watch");
	hv_conn_on_disconnect(c, on_server_gone, NULL);
	return hv_loop_run(loop);
}

/* --- rm, add -------------------------------------------------------------- */
static int cmd_rm(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	char **a = argv + 1;
	if (!c)
		return 1;
	int r = argc == 4 ? conf_remove_key(c, a[0], a[1], a[2])
			  : conf_remove_group(c, a[0], a[1]);
	return r < 0 ? cli_fail(c, r, "rm") : 0;
}

static int cmd_add(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	if (!c)
		return 1;
	int r = conf_add_group(c, argv[1], argv[2]);
	return r < 0 ? cli_fail(c, r, "add") : 0;
}

/* --- main ----------------------------------------------------------------- */
static const hv_verb verbs[] = {
	{"get", 3, 3, cmd_get},	    /* DOMAIN GROUP KEY */
	{"set", 4, 4, cmd_set},	    /* DOMAIN GROUP KEY VALUE */
	{"rm", 2, 3, cmd_rm},	    /* DOMAIN GROUP [KEY] */
	{"add", 2, 2, cmd_add},	    /* DOMAIN GROUP */
	{"list", 1, 2, cmd_list},   /* DOMAIN [GROUP] */
	{"batch", 1, 1, cmd_batch}, /* DOMAIN */
	{"watch", 1, 1, cmd_watch}, /* DOMAIN */
	{0},
};

static int parse_type(const char *s, enum vtype *t)
{
	static const char *const names[] = {"string", "i32", "u32", "bool"};
	for (size_t i = 0; i < HV_ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i])) {
			*t = (enum vtype)i;
			return 0;
		}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct options o = {.type = T_STRING};
	char *args[8] = {NULL};
	int n = 0;
	cli_init("config", "ConfigServer", usage);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			o.socket_path = argv[++i];
		} else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
			if (parse_type(argv[++i], &o.type) < 0)
				return cli_usage_error("unknown type '%s'", argv[i]);
			o.typed = true;
		} else if (!strcmp(argv[i], "--")) {
			while (++i < argc && n < (int)HV_ARRAY_SIZE(args))
				args[n++] = argv[i];
			break;
		} else if (argv[i][0] == '-' && argv[i][1] && n < 4) {
			return cli_usage_error("unknown option '%s'", argv[i]);
		} else if (n < (int)HV_ARRAY_SIZE(args)) {
			args[n++] = argv[i];
		} else {
			return cli_usage_error("%s", "too many arguments");
		}
	}
	if (n > 0 && o.typed && strcmp(args[0], "get") && strcmp(args[0], "set"))
		return cli_usage_error("--type is for get and set, not %s", args[0]);
	hv_log_set_level(HV_LOG_WARN);
	int ret = cli_dispatch(n, args, verbs, &o);
	if (o.conn)
		hv_conn_close(o.conn);
	return ret;
}
