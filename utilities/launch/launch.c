/* launch — ask LaunchServer.
 *
 *   launch [--socket PATH] open PATH|URL [--with APP]
 *   launch [--socket PATH] handlers PATH|URL [--json]
 *   launch [--socket PATH] default MIME [APP]
 *   launch [--socket PATH] type FILE|URL [--json]
 *   launch [--socket PATH] apps [--json]
 *
 * Exit codes: 0 done, 1 the service refused or failed (no handler, no such
 * file, a bad URL, cannot reach it), 2 usage. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <haven/options.h>

#include "cli.h"
#include "launch-client.h"

static const char *socket_path, *with = "";
static bool json;

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path,
		      "LaunchServer's socket (default: its portal)"),
	HV_OPT_STRING("with", "APP", &with,
		      "open: this application (a desktop file ID) instead of the default"),
	HV_OPT_FLAG("json", &json, "handlers, type, apps: print JSON"),
	{0},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: launch [--socket PATH] [--json] [--with APP] VERB ARGS\n"
		   "  open PATH|URL       open with the default application (or --with APP)\n"
		   "  handlers PATH|URL   the applications that open it, default first\n"
		   "  default MIME [APP]  the default application for MIME; with APP, set it\n"
		   "  type FILE|URL       its MIME type, and how it was decided\n"
		   "  apps                the installed applications\n"
		   "Exit: 0 done, 1 refused or failed, 2 usage.\n" CLI_TIMEOUT_HELP);
}

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "launch",
	.args = "open PATH|URL | handlers PATH|URL | default MIME [APP] | type FILE|URL | apps",
	.summary = "Open files and URLs with the user's applications (through LaunchServer);\n"
		   "ask what handles them and set defaults. Exit: 0 done, 1 refused or\n"
		   "failed, 2 usage.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 0,
	.max_args = -1,
};

static hv_conn *conn;

static int connect_or_fail(void)
{
	return cli_connect(NULL, LAUNCH_CLIENT_PORTAL, socket_path, &conn) < 0 ? 1 : 0;
}

static int cmd_open(int argc, char **argv, void *ud)
{
	(void)argc;
	(void)ud;
	if (connect_or_fail())
		return 1;
	int32_t pid;
	const char *used;
	int r = launch_client_open(conn, argv[1], with, &pid, &used);
	if (r < 0)
		return cli_fail(conn, r, argv[1]);
	fprintf(stderr, "launch: %s opened with %s (pid %d)\n", argv[1], used, (int)pid);
	return 0;
}

static int cmd_handlers(int argc, char **argv, void *ud)
{
	(void)argc;
	(void)ud;
	if (connect_or_fail())
		return 1;
	launch_server_classification t;
	hv_vec_launch_server_handler h;
	int r = launch_client_handlers(conn, argv[1], &t, &h);
	if (r < 0)
		return cli_fail(conn, r, argv[1]);
	if (json) {
		printf("{\"type\":");
		cli_json_string(stdout, t.mime_type);
		printf(",\"handlers\":[");
		for (size_t i = 0; i < h.count; i++) {
			printf("%s{\"id\":", i ? "," : "");
			cli_json_string(stdout, h.items[i].id);
			printf(",\"name\":");
			cli_json_string(stdout, h.items[i].name);
			printf(",\"exec\":");
			cli_json_string(stdout, h.items[i].exec);
			printf(",\"default\":%s}", h.items[i].is_default ? "true" : "false");
		}
		printf("]}\n");
		return 0;
	}
	for (size_t i = 0; i < h.count; i++)
		printf("%s\t%s%s\n", h.items[i].id, h.items[i].name,
		       h.items[i].is_default ? "\t(default)" : "");
	if (!h.count)
		fprintf(stderr, "launch: no application opens %s (%s)\n", argv[1], t.mime_type);
	return h.count ? 0 : 1;
}

static int cmd_default(int argc, char **argv, void *ud)
{
	(void)ud;
	if (connect_or_fail())
		return 1;
	if (argc == 3) {
		int r = launch_server_set_default(conn, argv[1], argv[2]);
		return r < 0 ? cli_fail(conn, r, argv[1]) : 0;
	}
	const char *id;
	int r = launch_server_get_default(conn, argv[1], &id);
	if (r < 0)
		return cli_fail(conn, r, argv[1]);
	printf("%s\n", id);
	return 0;
}

static int cmd_type(int argc, char **argv, void *ud)
{
	(void)argc;
	(void)ud;
	if (connect_or_fail())
		return 1;
	launch_server_classification t;
	int r = launch_client_classify(conn, argv[1], &t);
	if (r < 0)
		return cli_fail(conn, r, argv[1]);
	if (json) {
		printf("{\"type\":");
		cli_json_string(stdout, t.mime_type);
		printf(",\"by\":");
		cli_json_string(stdout, t.by);
		printf(",\"url\":");
		cli_json_string(stdout, t.url);
		printf("}\n");
	} else
		printf("%s\n", t.mime_type);
	return 0;
}

static int cmd_apps(int argc, char **argv, void *ud)
{
	(void)argc;
	(void)argv;
	(void)ud;
	if (connect_or_fail())
		return 1;
	hv_vec_launch_server_application v;
	int r = launch_server_list_applications(conn, &v);
	if (r < 0)
		return cli_fail(conn, r, "apps");
	if (json)
		putchar('[');
	for (size_t i = 0; i < v.count; i++) {
		const launch_server_application *a = &v.items[i];
		if (!json) {
			printf("%s\t%s%s\n", a->id, a->name,
			       a->no_display ? "\t(hidden from menus)" : "");
			continue;
		}
		printf("%s{\"id\":", i ? "," : "");
		cli_json_string(stdout, a->id);
		printf(",\"name\":");
		cli_json_string(stdout, a->name);
		printf(",\"exec\":");
		cli_json_string(stdout, a->exec);
		printf(",\"file\":");
		cli_json_string(stdout, a->file);
		printf(",\"terminal\":%s,\"no_display\":%s,\"mime_types\":[",
		       a->terminal ? "true" : "false", a->no_display ? "true" : "false");
		for (size_t k = 0; k < a->mime_types.count; k++) {
			printf("%s", k ? "," : "");
			cli_json_string(stdout, a->mime_types.items[k]);
		}
		printf("]}");
	}
	if (json)
		printf("]\n");
	return 0;
}

static const hv_verb verbs[] = {
	{"open", 1, 1, cmd_open}, {"handlers", 1, 1, cmd_handlers}, {"default", 1, 2, cmd_default},
	{"type", 1, 1, cmd_type}, {"apps", 0, 0, cmd_apps},	    {0},
};

int main(int argc, char **argv)
{
	cli_init("launch", "LaunchServer", usage);
	/* Options may follow the verb ("launch handlers x --json", as
	 * xdg-mime's users write them): move them before it. */
	char *moved[argc + 1];
	int k = 0, rest = 0;
	char *args[argc + 1];
	moved[k++] = argv[0];
	for (int i = 1; i < argc; i++) {
		bool value = !strcmp(argv[i], "--socket") || !strcmp(argv[i], "--with");
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				args[rest++] = argv[i++];
		} else if (!strncmp(argv[i], "--", 2)) {
			moved[k++] = argv[i];
			if (value && i + 1 < argc)
				moved[k++] = argv[++i];
		} else
			args[rest++] = argv[i];
	}
	for (int i = 0; i < rest; i++)
		moved[k++] = args[i];
	moved[k] = NULL;
	argv = moved;
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	r = cli_dispatch(argc - first, argv + first, verbs, NULL);
	if (conn)
		hv_conn_close(conn);
	return r;
}
