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

#include "ConfigClient.ipc.h"
#include "ConfigServer.ipc.h"

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
	return cli_connect(loop, "config", o->socket_path, c);
}

/* The connection of a sync verb, or NULL (the error said). */
static hv_conn *conn_of(struct options *o)
{
	if (!o->conn && connect_to(NULL, o, &o->conn) < 0)
		o->conn = NULL;
	return o->conn;
}

static int cmd_get(int argc, char **argv, void *userdata)
{
	struct options *o = userdata;
	hv_conn *c = conn_of(o);
	char **a = argv + 1;
	int r;
	if (!c)
		return 1;
	switch (o->type) {
	case T_STRING: {
		hv_opt_bytestring v;
		if ((r = config_server_read_string_value(c, a[0], a[1], a[2], &v)) < 0)
			return cli_fail(c, r, "get");
		if (!v.present)
			return 1;
		printf("%s\n", v.value);
		return 0;
	}
	case T_I32: {
		hv_opt_i32 v;
		if ((r = config_server_read_i32_value(c, a[0], a[1], a[2], &v)) < 0)
			return cli_fail(c, r, "get");
		if (!v.present)
			return 1;
		printf("%d\n", v.value);
		return 0;
	}
	case T_U32: {
		hv_opt_u32 v;
		if ((r = config_server_read_u32_value(c, a[0], a[1], a[2], &v)) < 0)
			return cli_fail(c, r, "get");
		if (!v.present)
			return 1;
		printf("%u\n", v.value);
		return 0;
	}
	case T_BOOL: {
		hv_opt_bool v;
		if ((r = config_server_read_bool_value(c, a[0], a[1], a[2], &v)) < 0)
			return cli_fail(c, r, "get");
		if (!v.present)
			return 1;
		printf("%s\n", v.value ? "true" : "false");
		return 0;
	}
	}
	return 2;
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
		r = config_server_write_string_value(c, a[0], a[1], a[2], a[3]);
		break;
	case T_I32:
		if (hv_parse_i64(a[3], INT32_MIN, INT32_MAX, &i) < 0) {
			fprintf(stderr, "config: '%s' is not an i32\n", a[3]);
			return 2;
		}
		r = config_server_write_i32_value(c, a[0], a[1], a[2], (int32_t)i);
		break;
	case T_U32:
		if (hv_parse_u64(a[3], UINT32_MAX, &u) < 0) {
			fprintf(stderr, "config: '%s' is not a u32\n", a[3]);
			return 2;
		}
		r = config_server_write_u32_value(c, a[0], a[1], a[2], (uint32_t)u);
		break;
	case T_BOOL:
		if (strcmp(a[3], "true") && strcmp(a[3], "false")) {
			fprintf(stderr, "config: '%s' is not true or false\n", a[3]);
			return 2;
		}
		r = config_server_write_bool_value(c, a[0], a[1], a[2], !strcmp(a[3], "true"));
		break;
	}
	return r < 0 ? cli_fail(c, r, "set") : 0;
}

static int cmd_list(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	char **a = argv + 1;
	hv_vec_bytestring names;
	int r;
	if (!c)
		return 1;
	if (argc == 2) {
		if ((r = config_server_list_config_groups(c, a[0], &names)) < 0)
			return cli_fail(c, r, "list");
		for (size_t i = 0; i < names.count; i++)
			printf("%s\n", names.items[i]);
		return 0;
	}
	if ((r = config_server_list_config_keys(c, a[0], a[1], &names)) < 0)
		return cli_fail(c, r, "list");
	/* Results of a sync call live until the next call: copy the names. */
	size_t count = names.count;
	char **keys = calloc(count ? count : 1, sizeof(*keys));
	if (!keys)
		return cli_fail(NULL, -ENOMEM, "list");
	for (size_t i = 0; i < count; i++)
		if (!(keys[i] = strdup(names.items[i])))
			return cli_fail(NULL, -ENOMEM, "list");
	int ret = 0;
	for (size_t i = 0; i < count; i++) {
		hv_opt_bytestring v;
		if ((r = config_server_read_string_value(c, a[0], a[1], keys[i], &v)) < 0) {
			ret = cli_fail(c, r, "list");
			break;
		}
		if (v.present) /* it may have been removed meanwhile */
			printf("%s=%s\n", keys[i], v.value);
	}
	for (size_t i = 0; i < count; i++)
		free(keys[i]);
	free(keys);
	return ret;
}

/* --- batch ---------------------------------------------------------------- */
static int cmd_batch(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	const char *domain = argv[1];
	if (!c)
		return 1;
	config_server_config_op *ops = NULL;
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
		config_server_config_op op = {.key = "", .value = ""};
		const char *rest = p;
		if (!strcmp(w[0], "set") && nw == 3) {
			op.kind = CONFIG_SERVER_CONFIG_OP_KIND_SET;
			op.group = w[1];
			op.key = w[2];
			op.value = rest;
		} else if (!strcmp(w[0], "rm") && nw >= 2) {
			op.kind = nw == 3 ? CONFIG_SERVER_CONFIG_OP_KIND_REMOVE_KEY : CONFIG_SERVER_CONFIG_OP_KIND_REMOVE_GROUP;
			op.group = w[1];
			if (nw == 3)
				op.key = w[2];
			if (*rest) {
				fprintf(stderr, "config: stdin:%u: rm takes GROUP [KEY]\n", lineno);
				ret = 2;
				break;
			}
		} else if (!strcmp(w[0], "add") && nw == 2 && !*rest) {
			op.kind = CONFIG_SERVER_CONFIG_OP_KIND_ADD_GROUP;
			op.group = w[1];
		} else {
			fprintf(stderr, "config: stdin:%u: expected 'set GROUP KEY VALUE', "
					"'rm GROUP [KEY]' or 'add GROUP'\n", lineno);
			ret = 2;
			break;
		}
		/* Keep the strings: the line buffer is reused. */
		char **nwv = reallocarray(words, n_words + 3, sizeof(*nwv));
		config_server_config_op *nops = reallocarray(ops, n + 1, sizeof(*nops));
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
		hv_vec_config_server_config_op v = {.items = ops, .count = n};
		int r = config_server_write_batch(c, domain, v);
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

static int ev_string(hv_call *call, const config_client_notify_changed_string_value_req *e)
{
	printf("changed %s %s ", e->group, e->key);
	print_value(e->value);
	putchar('\n');
	fflush(stdout);
	return 0;
}

static int ev_i32(hv_call *call, const config_client_notify_changed_i32_value_req *e)
{
	printf("changed %s %s %d\n", e->group, e->key, e->value);
	fflush(stdout);
	return 0;
}

static int ev_u32(hv_call *call, const config_client_notify_changed_u32_value_req *e)
{
	printf("changed %s %s %u\n", e->group, e->key, e->value);
	fflush(stdout);
	return 0;
}

static int ev_bool(hv_call *call, const config_client_notify_changed_bool_value_req *e)
{
	printf("changed %s %s %s\n", e->group, e->key, e->value ? "true" : "false");
	fflush(stdout);
	return 0;
}

static int ev_removed_key(hv_call *call, const config_client_notify_removed_key_req *e)
{
	printf("removed-key %s %s\n", e->group, e->key);
	fflush(stdout);
	return 0;
}

static int ev_removed_group(hv_call *call, const config_client_notify_removed_group_req *e)
{
	printf("removed-group %s\n", e->group);
	fflush(stdout);
	return 0;
}

static int ev_added_group(hv_call *call, const config_client_notify_added_group_req *e)
{
	printf("added-group %s\n", e->group);
	fflush(stdout);
	return 0;
}

static const config_client_handlers watch_handlers = {
	.notify_changed_string_value = ev_string,
	.notify_changed_i32_value = ev_i32,
	.notify_changed_u32_value = ev_u32,
	.notify_changed_bool_value = ev_bool,
	.notify_removed_key = ev_removed_key,
	.notify_removed_group = ev_removed_group,
	.notify_added_group = ev_added_group,
};

static void on_quit_signal(hv_loop *loop, int signo, void *userdata) { hv_loop_quit(loop, 0); }

static void on_server_gone(hv_conn *c, void *userdata)
{
	fprintf(stderr, "config: watch: ConfigServer closed the connection\n");
	hv_loop_quit(hv_conn_loop(c), 1);
}

static int cmd_watch(int argc, char **argv, void *userdata)
{
	const char *domain = argv[1];
	hv_loop *loop = NULL;
	hv_conn *c = NULL;
	int ret = 1, r;
	if ((r = hv_loop_new(&loop)) < 0)
		return cli_fail(NULL, r, "watch");
	if (hv_loop_add_signal(loop, SIGINT, on_quit_signal, NULL, NULL) < 0 ||
	    hv_loop_add_signal(loop, SIGTERM, on_quit_signal, NULL, NULL) < 0 ||
	    connect_to(loop, userdata, &c) < 0)
		goto out;
	if ((r = hv_conn_serve(c, &config_client_endpoint, &watch_handlers)) < 0) {
		cli_fail(c, r, "watch");
		goto out;
	}
	if ((r = config_server_monitor_domain(c, domain)) < 0) {
		cli_fail(c, r, "watch");
		goto out;
	}
	hv_conn_on_disconnect(c, on_server_gone, NULL);
	ret = hv_loop_run(loop);
out:
	if (c) {
		hv_conn_on_disconnect(c, NULL, NULL); /* we are the ones closing it */
		hv_conn_close(c);
	}
	hv_loop_free(loop);
	return ret;
}

/* --- rm, add -------------------------------------------------------------- */
static int cmd_rm(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	char **a = argv + 1;
	if (!c)
		return 1;
	int r = argc == 4 ? config_server_remove_key_entry(c, a[0], a[1], a[2])
			  : config_server_remove_group_entry(c, a[0], a[1]);
	return r < 0 ? cli_fail(c, r, "rm") : 0;
}

static int cmd_add(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	if (!c)
		return 1;
	int r = config_server_add_group_entry(c, argv[1], argv[2]);
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
