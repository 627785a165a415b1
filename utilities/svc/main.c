/* svc — control SystemServer through its control endpoint
 * (SystemServer.ipc): status (table or JSON), start, stop, restart, logs
 * (with follow), reload, shutdown; as init poweroff, reboot, halt; boot
 * times (status --boot). Exit: 0 ok, 1 the request failed,
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
#include "cli.h"
#include "svc.h"

/* The manager's control portal, and where the system manager keeps it. */
#define PORTAL "SystemServer"
#define SYSTEM_PORTAL_DIR "/run/haven/portal"
#include "SystemServerClient.ipc.h"

static void usage(FILE *f)
{
	fputs("Usage: svc [--socket PATH] COMMAND [ARGS]\n"
	      "Control Haven's SystemServer.\n\n"
	      "Commands:\n"
	      "  status [NAME] [--json]    services and their state (JSON: an array of objects)\n"
	      "  status --boot [--json]    when each service started and became ready during\n"
	      "                            the boot, slowest first (ms since the boot began)\n"
	      "  start NAME                start (clears a failed state)\n"
	      "  stop NAME                 stop\n"
	      "  restart NAME              stop, then start\n"
	      "  logs NAME [-f] [-n N]     the last N lines (default 50); -f: keep following\n"
	      "  reload                    re-read the service definitions\n"
	      "  shutdown                  stop every service and the manager\n"
	      "  poweroff | reboot | halt  as init: stop every service, then power off,\n"
	      "                            reboot or halt the system (or container)\n"
	      "  introspect SERVICE [--json]  the service's contract, asked of it (SERVICE:\n"
	      "                            a name the manager knows, or a socket path)\n"
	      "  call SERVICE MESSAGE [ARG...]  call MESSAGE with one JSON value per\n"
	      "                            parameter (a bare word for a String), print the\n"
	      "                            reply as JSON\n\n"
	      "Options:\n"
	      "  --socket PATH   the manager's control socket (default: $HAVEN_PORTAL_DIR,\n"
	      "                  $XDG_RUNTIME_DIR/haven/portal or /run/haven/portal, /SystemServer)\n"
	      "  -h, --help      show this help\n" CLI_TIMEOUT_HELP,
	      f);
}

/* What the options said, and the connection every verb uses. */
struct options {
	const char *socket_path;
	bool json, follow, boot;
	int64_t lines;
	hv_conn *conn;
};

/* The control socket: --socket, else the user's session portal, else the
 * system manager's. */
static void control_socket(const char *sock, char *path, size_t size)
{
	if (sock)
		snprintf(path, size, "%s", sock);
	else if (hv_portal_path(PORTAL, path, size) < 0 || access(path, F_OK) < 0) {
		/* Not in the user's session: the system manager, if any. */
		if (access(SYSTEM_PORTAL_DIR "/" PORTAL, F_OK) == 0)
			snprintf(path, size, "%s", SYSTEM_PORTAL_DIR "/" PORTAL);
	}
}

/* The connection, made on first use (a usage error is found before
 * connecting; main closes it), or NULL (the error said). */
static hv_conn *conn_of(struct options *o)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "";
	if (o->conn)
		return o->conn;
	control_socket(o->socket_path, path, sizeof path);
	if (cli_connect(NULL, NULL, path, &o->conn) < 0)
		o->conn = NULL;
	return o->conn;
}

/* One line for a failed request, exit 1; 0 when r says it worked. */
static int report(hv_conn *c, int r, const char *what, const char *name)
{
	if (r >= 0)
		return 0;
	char buf[512];
	snprintf(buf, sizeof buf, "%s%s%s", what, name ? " " : "", name ? name : "");
	return cli_fail(c, r, buf);
}

static void json_one(const system_server_service_status *s)
{
	fputs("{\"name\": ", stdout);
	cli_json_string(stdout, s->name);
	fputs(", \"state\": ", stdout);
	cli_json_string(stdout, s->state);
	if (s->pid > 0)
		printf(", \"pid\": %d", (int)s->pid);
	else
		fputs(", \"pid\": null", stdout);
	printf(", \"restarts\": %u, \"instances\": %u, \"reason\": ", s->restarts, s->instances);
	cli_json_string(stdout, s->reason);
	fputs(", \"definition\": ", stdout);
	cli_json_string(stdout, s->definition);
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

static int by_ready_desc(const void *a, const void *b)
{
	const system_server_boot_time *x = a, *y = b;
	uint64_t dx = x->ready_us ? x->ready_us - x->started_us : 0;
	uint64_t dy = y->ready_us ? y->ready_us - y->started_us : 0;
	return dx < dy ? 1 : dx > dy ? -1 : strcmp(x->name, y->name);
}

/* systemd-analyze blame: each service's time to ready, slowest first. */
static int boot_times(struct options *o, hv_conn *conn)
{
	hv_vec_system_server_boot_time v;
	int rc = report(conn, system_server_boot_times(conn, &v), "status --boot", NULL);
	if (rc)
		return rc;
	qsort(v.items, v.count, sizeof *v.items, by_ready_desc);
	uint64_t last = 0;
	if (o->json)
		putchar('[');
	for (size_t i = 0; i < v.count; i++) {
		const system_server_boot_time *b = &v.items[i];
		last = HV_MAX(last, b->ready_us);
		if (o->json) {
			printf("%s{\"name\": ", i ? ",\n " : "");
			cli_json_string(stdout, b->name);
			printf(", \"started_us\": %llu, \"ready_us\": %llu}", (unsigned long long)b->started_us,
			       (unsigned long long)b->ready_us);
			continue;
		}
		if (!b->started_us)
			printf("%10s  %10s  %10s  %s (not started: lazy, or not in this mode)\n", "-", "-", "-",
			       b->name);
		else if (!b->ready_us)
			printf("%10s  %10.3f  %10s  %s\n", "-", b->started_us / 1e3, "not ready", b->name);
		else
			printf("%8.3fms  %10.3f  %10.3f  %s\n", (b->ready_us - b->started_us) / 1e3,
			       b->started_us / 1e3, b->ready_us / 1e3, b->name);
	}
	if (o->json)
		puts("]");
	else
		printf("all ready %.3f ms after the boot began (columns: time to ready, started, ready)\n", last / 1e3);
	return 0;
}

static int cmd_status(int argc, char **argv, void *userdata)
{
	struct options *o = userdata;
	hv_conn *conn = conn_of(o);
	if (o->boot && argc > 1)
		return cli_usage_error("status --boot takes no service name");
	if (conn && o->boot)
		return boot_times(o, conn);
	const char *name = argc > 1 ? argv[1] : NULL;
	int rc;
	if (!conn)
		return 1;
	if (name) {
		system_server_service_status s;
		if ((rc = report(conn, system_server_status(conn, name, &s), "status", name)))
			return rc;
		if (o->json) {
			json_one(&s);
			putchar('\n');
		} else {
			table(&s, 1);
		}
		return 0;
	}
	hv_vec_system_server_service_status v;
	if ((rc = report(conn, system_server_list(conn, &v), "status", NULL)))
		return rc;
	if (o->json) {
		putchar('[');
		for (size_t i = 0; i < v.count; i++) {
			fputs(i ? ",\n " : "", stdout);
			json_one(&v.items[i]);
		}
		puts("]");
	} else {
		table(v.items, v.count);
	}
	return 0;
}

static int cmd_start(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	return c ? report(c, system_server_start(c, argv[1]), "start", argv[1]) : 1;
}

static int cmd_stop(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	return c ? report(c, system_server_stop(c, argv[1]), "stop", argv[1]) : 1;
}

static int cmd_restart(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	return c ? report(c, system_server_restart(c, argv[1]), "restart", argv[1]) : 1;
}

static int cmd_reload(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	return c ? report(c, system_server_reload(c), "reload", NULL) : 1;
}

static int cmd_shutdown(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	return c ? report(c, system_server_shutdown(c), "shutdown", NULL) : 1;
}

static int cmd_power(int argc, char **argv, void *userdata)
{
	hv_conn *c = conn_of(userdata);
	return c ? report(c, system_server_power(c, argv[0]), argv[0], NULL) : 1;
}

static int cmd_logs(int argc, char **argv, void *userdata)
{
	struct options *o = userdata;
	hv_conn *conn = conn_of(o);
	const char *name = argv[1];
	int r, rc;
	if (!conn)
		return 1;
	if (o->follow &&
	    (r = hv_conn_serve(conn, &system_server_client_endpoint, &client_handlers)) < 0)
		return report(conn, r, "logs", name);
	hv_vec_string v;
	r = system_server_logs(conn, name, (uint32_t)o->lines, o->follow, &v);
	if ((rc = report(conn, r, "logs", name)))
		return rc;
	if (o->lines == 0)
		v.count = 0; /* -n 0: only what comes next */
	for (size_t i = 0; i < v.count; i++)
		printf("%s\n", v.items[i]);
	fflush(stdout);
	while (o->follow && (r = hv_conn_dispatch(conn, -1)) >= 0)
		;
	return 0;
}

static hv_conn *manager_conn(void *userdata) { return conn_of(userdata); }

static int cmd_introspect(int argc, char **argv, void *userdata)
{
	struct options *o = userdata;
	return svc_introspect(argv[1], o->json, manager_conn, o);
}

static int cmd_call(int argc, char **argv, void *userdata)
{
	return svc_call(argv[1], argv[2], argc - 3, argv + 3, manager_conn, userdata);
}

static const hv_verb verbs[] = {
	{"status", 0, 1, cmd_status},
	{"list", 0, 1, cmd_status},
	{"start", 1, 1, cmd_start},
	{"stop", 1, 1, cmd_stop},
	{"restart", 1, 1, cmd_restart},
	{"logs", 1, 1, cmd_logs},
	{"reload", 0, 0, cmd_reload},
	{"shutdown", 0, 0, cmd_shutdown},
	{"poweroff", 0, 0, cmd_power},
	{"reboot", 0, 0, cmd_power},
	{"halt", 0, 0, cmd_power},
	{"introspect", 1, 1, cmd_introspect},
	{"call", 2, 64, cmd_call},
	{0},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"boot", no_argument, NULL, 'b'},
		{"follow", no_argument, NULL, 'f'},
		{"lines", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct options o = {.lines = 50};
	int c;
	cli_init("svc", "SystemServer", usage);
	/* Options may come before or after the command (svc logs X -f -n 5). */
	while ((c = getopt_long(argc, argv, "hfn:", opts, NULL)) != -1) {
		switch (c) {
		case 's': o.socket_path = optarg; break;
		case 'j': o.json = true; break;
		case 'b': o.boot = true; break;
		case 'f': o.follow = true; break;
		case 'n':
			if (hv_parse_i64(optarg, 0, 100000, &o.lines) < 0)
				return cli_usage_error("bad line count \"%s\"", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (o.socket_path && strlen(o.socket_path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return cli_usage_error("socket path too long: %s", o.socket_path);
	int rc = cli_dispatch(argc - optind, argv + optind, verbs, &o);
	if (o.conn)
		hv_conn_close(o.conn);
	return rc;
}
