/* sessions — list and manage LoginServer's sessions.
 *
 *   sessions [--socket PATH] [--json] list
 *   sessions [--socket PATH] lock|unlock|switch|terminate ID
 *
 * Exit: 0 done, 1 LoginServer refused (no such session, not yours) or is
 * unreachable, 2 usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <haven/options.h>
#include <haven/util.h>

#include "cli.h"
#include "login-client.h"

static const char *socket_path;
static bool json;

static const hv_option options[] = {
	HV_OPT_STRING("socket", "PATH", &socket_path, "LoginServer's socket (default: its portal)"),
	HV_OPT_FLAG("json", &json, "list: print JSON"),
	{0},
};

static void print_json(const lgn_session *s, size_t n)
{
	printf("[");
	for (size_t i = 0; i < n; i++) {
		printf("%s{\"id\":%" PRIu64 ",\"uid\":%u,\"user\":", i ? "," : "", s[i].id, (unsigned)s[i].uid);
		cli_json_string(stdout, s[i].user);
		printf(",\"pid\":%d,\"locked\":%s,\"foreground\":%s,\"started_ms\":%" PRIu64 ",\"runtime_dir\":",
		       (int)s[i].pid, s[i].locked ? "true" : "false", s[i].foreground ? "true" : "false",
		       s[i].started_ms);
		cli_json_string(stdout, s[i].runtime_dir);
		printf(",\"command\":");
		cli_json_string(stdout, s[i].command);
		printf("}");
	}
	printf("]\n");
}

static void print_table(const lgn_session *s, size_t n)
{
	printf("%-6s %-16s %-7s %-8s %-6s %-19s %s\n", "ID", "USER", "UID", "PID", "STATE", "STARTED",
	       "COMMAND");
	for (size_t i = 0; i < n; i++) {
		char when[32] = "?";
		time_t t = (time_t)(s[i].started_ms / 1000);
		struct tm tm;
		if (localtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		const char *state = s[i].locked ? "locked" : "active";
		printf("%-6" PRIu64 " %-16s %-7u %-8d %-6s %-19s %s%s\n", s[i].id, s[i].user,
		       (unsigned)s[i].uid, (int)s[i].pid, state, when, s[i].command,
		       s[i].foreground ? "  (foreground)" : "");
	}
}

static int connect_client(hv_loop **loop, lgn_client **cl)
{
	int r = hv_loop_new(loop);
	if (r < 0)
		return cli_fail(NULL, r, "cannot create a loop");
	r = lgn_client_connect(*loop, socket_path, cl);
	if (r < 0) {
		hv_loop_free(*loop);
		return cli_fail(NULL, r, "cannot reach LoginServer");
	}
	hv_conn_set_timeout(lgn_client_conn(*cl), cli_timeout_ms());
	return 0;
}

static int cmd_list(int argc, char **argv, void *ud)
{
	hv_loop *loop;
	lgn_client *cl;
	if (connect_client(&loop, &cl))
		return 1;
	lgn_session *s = NULL;
	size_t n = 0;
	int r = lgn_list(cl, &s, &n);
	if (r < 0)
		r = cli_fail(lgn_client_conn(cl), r, "list");
	else if (json)
		print_json(s, n);
	else
		print_table(s, n);
	lgn_sessions_free(s, n);
	lgn_client_free(cl);
	hv_loop_free(loop);
	return r;
}

static int cmd_act(int argc, char **argv, void *ud)
{
	uint64_t id;
	if (hv_parse_u64(argv[1], UINT64_MAX, &id) < 0 || id == 0)
		return cli_usage_error("%s: not a session id: '%s'", argv[0], argv[1]);
	hv_loop *loop;
	lgn_client *cl;
	if (connect_client(&loop, &cl))
		return 1;
	int (*const fns[])(lgn_client *, uint64_t) = {lgn_lock, lgn_unlock, lgn_switch, lgn_terminate};
	const char *const names[] = {"lock", "unlock", "switch", "terminate"};
	int r = -EINVAL;
	for (size_t i = 0; i < 4; i++)
		if (strcmp(argv[0], names[i]) == 0)
			r = fns[i](cl, id);
	char what[64];
	snprintf(what, sizeof(what), "%s %" PRIu64, argv[0], id);
	r = r < 0 ? cli_fail(lgn_client_conn(cl), r, what) : 0;
	lgn_client_free(cl);
	hv_loop_free(loop);
	return r;
}

static const hv_verb verbs[] = {
	{"list", 0, 0, cmd_list},	  {"lock", 1, 1, cmd_act},	{"unlock", 1, 1, cmd_act},
	{"switch", 1, 1, cmd_act}, {"terminate", 1, 1, cmd_act}, {0},
};

static const hv_option *const tables[] = {options, NULL};
static const hv_cmdline cmd = {
	.name = "sessions",
	.args = "list | lock ID | unlock ID | switch ID | terminate ID",
	.summary = "List and manage LoginServer's sessions (acting on one needs to be its\n"
		   "user or root). Exit: 0 done, 1 refused or LoginServer unreachable,\n"
		   "2 usage.\n" CLI_TIMEOUT_HELP,
	.tables = tables,
	.min_args = 1,
	.max_args = 2,
};

static void usage(FILE *f) { hv_options_usage(&cmd, f); }

int main(int argc, char **argv)
{
	cli_init("sessions", "LoginServer", usage);
	int first = 0;
	int r = hv_options_parse(&cmd, argc, argv, &first);
	if (r <= 0)
		return hv_options_exit_code(r);
	return cli_dispatch(argc - first, argv + first, verbs, NULL);
}
