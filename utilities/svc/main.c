/* svc — control SystemServer through its control endpoint
 * (SystemServer.ipc): status (table or JSON), start, stop, restart, logs
 * (with follow), reload, shutdown. Exit: 0 ok, 1 the request failed,
 * 2 bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>
#include <haven/util.h>

#include "SystemServer.ipc.h"
#include "SystemServerClient.ipc.h"

static void usage(FILE *f)
{
	fputs("Usage: svc [--socket PATH] COMMAND [ARGS]\n"
	      "Control Haven's SystemServer.\n\n"
	      "Commands:\n"
	      "  status [NAME] [--json]    services and their state (JSON: an array of objects)\n"
	      "  start NAME                start (clears a failed state)\n"
	      "  stop NAME                 stop\n"
	      "  restart NAME              stop, then start\n"
	      "  logs NAME [-f] [-n N]     the last N lines (default 50); -f: keep following\n"
	      "  reload                    re-read the service definitions\n"
	      "  shutdown                  stop every service and the manager\n\n"
	      "Options:\n"
	      "  --socket PATH   the manager's control socket (default: $HAVEN_PORTAL_DIR,\n"
	      "                  $XDG_RUNTIME_DIR/haven/portal or /run/haven/portal, /SystemServer)\n"
	      "  -h, --help      show this help\n",
	      f);
}

static int fail_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "svc: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	usage(stderr);
	return 2;
}

static int report(hv_conn *c, int r, const char *what, const char *name)
{
	if (r >= 0)
		return 0;
	fprintf(stderr, "svc: %s %s: %s\n", what, name ? name : "", hv_conn_strerror(c, r));
	return 1;
}

static void json_string(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", stdout);
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static void json_one(const system_server_service_status *s)
{
	fputs("{\"name\": ", stdout);
	json_string(s->name);
	fputs(", \"state\": ", stdout);
	json_string(s->state);
	if (s->pid > 0)
		printf(", \"pid\": %d", (int)s->pid);
	else
		fputs(", \"pid\": null", stdout);
	printf(", \"restarts\": %u, \"instances\": %u, \"reason\": ", s->restarts, s->instances);
	json_string(s->reason);
	fputs(", \"definition\": ", stdout);
	json_string(s->definition);
	putchar('}');
}

static void table(const system_server_service_status *v, size_t n)
{
	int w = 7;
	for (size_t i = 0; i < n; i++)
		w = HV_MAX(w, (int)strlen(v[i].name));
	printf("%-*s  %-9s  %7s  %8s  %9s  %s\n", w, "SERVICE", "STATE", "PID", "RESTARTS", "INSTANCES", "NOTE");
	for (size_t i = 0; i < n; i++) {
		char pid[16] = "-";
		if (v[i].pid > 0)
			snprintf(pid, sizeof pid, "%d", (int)v[i].pid);
		printf("%-*s  %-9s  %7s  %8u  %9u  %s\n", w, v[i].name, v[i].state, pid, v[i].restarts,
		       v[i].instances, v[i].reason);
	}
}

static int on_log_line(hv_call *call, const system_server_client_log_line_req *req)
{
	printf("%s\n", req->line);
	fflush(stdout);
	return 0;
}

static const system_server_client_handlers client_handlers = {.log_line = on_log_line};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"follow", no_argument, NULL, 'f'},
		{"lines", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *sock = NULL;
	bool json = false, follow = false;
	int64_t lines = 50;
	int c;
	/* Options may come before or after the command (svc logs X -f -n 5). */
	while ((c = getopt_long(argc, argv, "hfn:", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock = optarg; break;
		case 'j': json = true; break;
		case 'f': follow = true; break;
		case 'n':
			if (hv_parse_i64(optarg, 0, 100000, &lines) < 0)
				return fail_usage("bad line count \"%s\"", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc)
		return fail_usage("%s", "no command given");
	const char *cmd = argv[optind++];
	const char *name = optind < argc ? argv[optind++] : NULL;
	if (optind < argc)
		return fail_usage("unexpected argument \"%s\"", argv[optind]);

	enum { ST, START, STOP, RESTART, LOGS, RELOAD, SHUTDOWN } op;
	if (!strcmp(cmd, "status") || !strcmp(cmd, "list"))
		op = ST;
	else if (!strcmp(cmd, "start"))
		op = START;
	else if (!strcmp(cmd, "stop"))
		op = STOP;
	else if (!strcmp(cmd, "restart"))
		op = RESTART;
	else if (!strcmp(cmd, "logs"))
		op = LOGS;
	else if (!strcmp(cmd, "reload"))
		op = RELOAD;
	else if (!strcmp(cmd, "shutdown"))
		op = SHUTDOWN;
	else
		return fail_usage("unknown command \"%s\"", cmd);
	bool needs_name = op == START || op == STOP || op == RESTART || op == LOGS;
	if (needs_name && !name)
		return fail_usage("%s needs a service name", cmd);
	if (!needs_name && op != ST && name)
		return fail_usage("unexpected argument \"%s\"", name);

	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	if (sock) {
		if (strlen(sock) >= sizeof path)
			return fail_usage("socket path too long: %s", sock);
		strcpy(path, sock);
	} else if (hv_portal_path("SystemServer", path, sizeof path) < 0 || access(path, F_OK) < 0) {
		/* Not in the user's session: the system manager, if any. */
		if (access("/run/haven/portal/SystemServer", F_OK) == 0)
			strcpy(path, "/run/haven/portal/SystemServer");
	}
	hv_log_set_ident("svc");
	hv_conn *conn = NULL;
	int r = hv_conn_connect(NULL, path, &conn);
	if (r < 0) {
		fprintf(stderr, "svc: cannot reach SystemServer at %s: %s\n", path, strerror(-r));
		return 1;
	}
	int rc = 0;
	switch (op) {
	case ST:
		if (name) {
			system_server_service_status s;
			r = system_server_status(conn, name, &s);
			if ((rc = report(conn, r, "status", name)))
				break;
			if (json) {
				json_one(&s);
				putchar('\n');
			} else {
				table(&s, 1);
			}
		} else {
			hv_vec_system_server_service_status v;
			r = system_server_list(conn, &v);
			if ((rc = report(conn, r, "status", NULL)))
				break;
			if (json) {
				putchar('[');
				for (size_t i = 0; i < v.count; i++) {
					fputs(i ? ",\n " : "", stdout);
					json_one(&v.items[i]);
				}
				puts("]");
			} else {
				table(v.items, v.count);
			}
		}
		break;
	case START: rc = report(conn, system_server_start(conn, name), "start", name); break;
	case STOP: rc = report(conn, system_server_stop(conn, name), "stop", name); break;
	case RESTART: rc = report(conn, system_server_restart(conn, name), "restart", name); break;
	case RELOAD: rc = report(conn, system_server_reload(conn), "reload", NULL); break;
	case SHUTDOWN: rc = report(conn, system_server_shutdown(conn), "shutdown", NULL); break;
	case LOGS: {
		if (follow && (r = hv_conn_serve(conn, &system_server_client_endpoint, &client_handlers)) < 0) {
			rc = report(conn, r, "logs", name);
			break;
		}
		hv_vec_string v;
		r = system_server_logs(conn, name, (uint32_t)lines, follow, &v);
		if ((rc = report(conn, r, "logs", name)))
			break;
		if (lines == 0)
			v.count = 0; /* -n 0: only what comes next */
		for (size_t i = 0; i < v.count; i++)
			printf("%s\n", v.items[i]);
		fflush(stdout);
		while (follow && (r = hv_conn_dispatch(conn, -1)) >= 0)
			;
		break;
	}
	}
	hv_conn_close(conn);
	return rc;
}
