/* fsa — FileSystemAccessServer's command-line client: the terminal prompt
 * agent, the remembered grants, and a file asked for by path
 * (docs/filesystemaccessserver.md). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>
#include <haven/util.h>

#include "../common/cli.h"
#include "FileSystemAccessAgent.ipc.h"
#include "FileSystemAccessServer.ipc.h"

#define PORTAL "fsa"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: fsa [--socket PATH] agent\n"
		"       fsa [--socket PATH] [--json] grants\n"
		"       fsa [--socket PATH] revoke EXECUTABLE [PATH]\n"
		"       fsa [--socket PATH] cat PATH\n"
		"Talk to FileSystemAccessServer, which hands sandboxed programs the files a\n"
		"person allows.\n\n"
		"  agent    answer its questions on this terminal: allow once, always, deny;\n"
		"           for a file picker, type the path\n"
		"  grants   list the \"always\" answers (executable, access, path, since)\n"
		"  revoke   forget them for EXECUTABLE (and PATH); \"\" matches any\n"
		"  cat      ask for PATH (read) as this program and copy it to stdout\n\n"
		"  -S, --socket PATH   the service's socket (default: the \"fsa\" portal)\n"
		"      --json          grants as a JSON array of {executable, access, path,\n"
		"                      granted_at (seconds since the epoch)}\n"
		"  -h, --help          show this help\n\n"
		"Exit status: 0 done, 1 refused or the service is unreachable, 2 bad usage.\n" CLI_TIMEOUT_HELP);
}

static const char *const access_names[] = {"read", "write", "create", "directory"};
static const char *access_name(unsigned a) { return a < 4 ? access_names[a] : "?"; }

/* --- the terminal agent ---------------------------------------------------- */

struct agent {
	hv_loop *loop;
	hv_conn *conn;
	uint64_t id; /* the question on screen; 0: none */
	bool pick, done;
};

static int on_ask(hv_call *call, const file_system_access_agent_ask_req *q)
{
	struct agent *a = hv_conn_userdata(hv_call_conn(call));
	if (a->id) /* one at a time: a second asker waits for its deadline */
		return 0;
	a->id = q->id;
	a->pick = false;
	printf("\n%s (pid %d, uid %u) wants to %s\n  %s\nAllow? [o]nce, [a]lways, [d]eny: ", q->executable,
	       q->pid, q->uid, q->access == FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ ? "read" : access_name(q->access),
	       q->path);
	fflush(stdout);
	return 0;
}

static int on_pick(hv_call *call, const file_system_access_agent_pick_req *q)
{
	struct agent *a = hv_conn_userdata(hv_call_conn(call));
	if (a->id)
		return 0;
	a->id = q->id;
	a->pick = true;
	printf("\n%s (pid %d) asks you to pick a file to %s", q->executable, q->pid, q->save ? "save" : "open");
	if (q->save)
		printf(" (suggested name: %s)", q->suggested_name);
	printf("\n%sType its full path (empty: cancel): ", *q->start_dir ? q->start_dir : "");
	fflush(stdout);
	return 0;
}

static int on_cancelled(hv_call *call, const file_system_access_agent_cancelled_req *q)
{
	struct agent *a = hv_conn_userdata(hv_call_conn(call));
	if (a->id == q->id) {
		printf("\n(question %" PRIu64 " withdrawn)\n", q->id);
		a->id = 0;
	}
	return 0;
}

static const file_system_access_agent_handlers agent_events =
	FILE_SYSTEM_ACCESS_AGENT_HANDLERS(on_ask, on_pick, on_cancelled);

static void on_stdin(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	struct agent *a = ud;
	char line[4096];
	ssize_t n = read(fd, line, sizeof line - 1);
	if (n <= 0) {
		a->done = true;
		hv_loop_quit(loop, 0);
		return;
	}
	line[n] = 0;
	line[strcspn(line, "\n")] = 0;
	if (!a->id)
		return;
	if (a->pick) {
		hv_opt_bytestring path = {.present = line[0] != 0, .value = line};
		file_system_access_server_answer_pick(a->conn, a->id, path);
	} else {
		file_system_access_server_decision d = FILE_SYSTEM_ACCESS_SERVER_DECISION_DENY;
		if (line[0] == 'o' || line[0] == 'y')
			d = FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ONCE;
		else if (line[0] == 'a')
			d = FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS;
		file_system_access_server_answer(a->conn, a->id, d);
	}
	a->id = 0;
}

static void on_agent_gone(hv_conn *c, void *ud)
{
	struct agent *a = ud;
	if (a->done)
		return;
	fprintf(stderr, "fsa: FileSystemAccessServer went away\n");
	hv_loop_quit(a->loop, 1);
}

static int cmd_agent(const char *socket_path)
{
	struct agent a = {0};
	int r = hv_loop_new(&a.loop);
	if (r < 0)
		return 1;
	if (cli_connect(a.loop, PORTAL, socket_path, &a.conn) < 0) {
		hv_loop_free(a.loop);
		return 1;
	}
	hv_conn_set_userdata(a.conn, &a);
	hv_conn_serve(a.conn, &file_system_access_agent_endpoint, &agent_events);
	hv_conn_on_disconnect(a.conn, on_agent_gone, &a);
	if ((r = file_system_access_server_register_agent(a.conn)) < 0) {
		r = cli_fail(a.conn, r, "register as the prompt agent");
	} else {
		fprintf(stderr, "fsa: answering FileSystemAccessServer's questions here (Ctrl-D ends)\n");
		hv_loop_add_fd(a.loop, 0, EPOLLIN, on_stdin, &a, NULL);
		hv_loop_quit_on_signals(a.loop);
		r = hv_loop_run(a.loop);
	}
	hv_conn_close(a.conn);
	hv_loop_free(a.loop);
	return r ? 1 : 0;
}

/* --- the other commands --------------------------------------------------- */

static int cmd_grants(hv_conn *c, bool json)
{
	hv_vec_file_system_access_server_grant g;
	int r = file_system_access_server_list_grants(c, &g);
	if (r < 0)
		return cli_fail(c, r, "list the grants");
	if (json)
		putchar('[');
	for (size_t i = 0; i < g.count; i++) {
		const file_system_access_server_grant *e = &g.items[i];
		if (json) {
			fputs(i ? ",{\"executable\":" : "{\"executable\":", stdout);
			cli_json_string(stdout, e->executable);
			printf(",\"access\":\"%s\",\"path\":", access_name(e->access));
			cli_json_string(stdout, e->path);
			printf(",\"granted_at\":%" PRIu64 "}", (uint64_t)e->granted_at);
			continue;
		}
		char when[32];
		time_t t = (time_t)e->granted_at;
		strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&t));
		printf("%s\t%s\t%s\t%s\n", e->executable, access_name(e->access), e->path, when);
	}
	if (json)
		puts("]");
	return 0;
}

static int cmd_revoke(hv_conn *c, const char *exe, const char *path)
{
	uint32_t n;
	int r = file_system_access_server_revoke(c, exe, path, &n);
	if (r < 0)
		return cli_fail(c, r, "revoke");
	printf("%u grant%s revoked\n", n, n == 1 ? "" : "s");
	return n ? 0 : 1;
}

static int cmd_cat(hv_conn *c, const char *path)
{
	int fd;
	/* A person answers: no call timeout. */
	hv_conn_set_timeout(c, -1);
	int r = file_system_access_server_request_file(c, path, FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ, &fd);
	if (r < 0)
		return cli_fail(c, r, path);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (hv_write_full(1, buf, (size_t)n) < 0)
			break;
	close(fd);
	return n < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	cli_init("fsa", "FileSystemAccessServer", usage);
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0}};
	const char *socket_path = NULL;
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "+S:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'S': socket_path = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc)
		return cli_usage_error("no command: agent, grants, revoke or cat");
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	char **args = argv + optind + 1;
	if (!strcmp(cmd, "agent") && nargs == 0)
		return cmd_agent(socket_path);
	bool ok = (!strcmp(cmd, "grants") && nargs == 0) || (!strcmp(cmd, "revoke") && (nargs == 1 || nargs == 2)) ||
		  (!strcmp(cmd, "cat") && nargs == 1);
	if (!ok)
		return cli_usage_error("unknown command or wrong arguments: %s", cmd);
	hv_conn *conn;
	if (cli_connect(NULL, PORTAL, socket_path, &conn) < 0)
		return 1;
	int r = !strcmp(cmd, "grants") ? cmd_grants(conn, json)
		: !strcmp(cmd, "revoke") ? cmd_revoke(conn, args[0], nargs == 2 ? args[1] : "")
					 : cmd_cat(conn, args[0]);
	hv_conn_close(conn);
	return r;
}
