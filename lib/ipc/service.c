/* lib/ipc/service.c — the service runner (haven/service.h): the steps every
 * service's main() used to write by hand, in one place. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <haven/crash.h>
#include <haven/log.h>
#include <haven/sandbox.h>
#include <haven/service.h>

/* One service per process: what hv_service_parse() read. */
static const char *socket_path;

const char *hv_service_socket_path(void)
{
	return socket_path;
}

int hv_service_parse(const hv_service *svc, int argc, char **argv)
{
	const hv_option runner_options[] = {
		HV_OPT_STRING("socket", "PATH", &socket_path,
			      "listen on PATH (started by hand); default: serve the\n"
			      "socket(s) a service manager hands over (LISTEN_FDS)"),
		{0},
	};
	const hv_option *const tables[] = {runner_options, svc->options, NULL};
	const hv_cmdline cmd = {
		.name = svc->name,
		.summary = svc->summary,
		.tables = tables,
		.max_args = 0,
	};
	return hv_options_parse(&cmd, argc, argv, NULL);
}

/* No Landlock in this kernel: lib/sandbox has said so; seccomp still holds. */
static int unveil_ok(int r)
{
	return r == -ENOSYS || r == -EOPNOTSUPP ? 0 : r;
}

/* Step 5: the rules, and the directory of a socket we bound ourselves. */
static int enter_view(const hv_service *svc)
{
	int r = 0;
	if (socket_path) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", socket_path);
		char *slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, sizeof(dir), ".");
		else
			slash[slash == dir ? 1 : 0] = '\0';
		if ((r = unveil_ok(hv_unveil(dir, "c"))) < 0)
			return r;
	}
	if (!svc->unveil)
		return 0;
	for (const hv_unveil_rule *u = svc->unveil; u->path; u++) {
		const char *p = *u->path;
		if (!p || (u->if_exists && access(p, F_OK) < 0))
			continue;
		if ((r = unveil_ok(hv_unveil(p, u->perms))) < 0)
			return hv_log_errno(r, "%s: failed to unveil %s", svc->name, p);
	}
	/* Lock now, even with no rule at all ("no files"), so threads that
	 * ready() starts inherit the view. */
	return unveil_ok(hv_unveil(NULL, NULL));
}

/* Step 7: the declared promises, and what the way it was started needs. */
static int enter_pledge(const hv_service *svc, const hv_server *srv)
{
	char promises[512];
	int n = snprintf(promises, sizeof(promises), "%s%s%s%s", svc->pledge,
			 hv_server_listens(srv) ? " accept" : "",
			 hv_server_has_handoff(srv) ? " recvfd" : "", socket_path ? " cpath" : "");
	if (n < 0 || (size_t)n >= sizeof(promises))
		return -ENAMETOOLONG;
	return hv_pledge(promises, NULL);
}

static int make_server(const hv_service *svc, hv_loop *loop, hv_server **out)
{
	int r = hv_server_new(loop, svc->endpoint, svc->handlers, out);
	if (r < 0)
		return r;
	hv_server_set_conn_state(*out, svc->conn_size, svc->conn_init, svc->conn_fini);
	hv_server_set_lazy_buffers(*out, svc->lazy_buffers);
	if (svc->max_connections)
		hv_server_set_max_connections(*out, svc->max_connections);
	if (svc->exit_when_idle)
		hv_server_set_exit_when_idle(*out, true);
	return 0;
}

/* Crash reports (haven/crash.h, docs/crashdaemon.md): on unless
 * HAVEN_CRASH_HANDLER says no; nothing when no CrashDaemon listens. Before
 * the sandbox: it connects. A process its manager already confined
 * (Pledge=) might not be allowed to: only when the definition says yes. */
static void install_crash_handler(const hv_service *svc)
{
	const char *on = getenv(HV_CRASH_ENV_ENABLE), *path = getenv(HV_CRASH_ENV_SOCKET);
	bool enabled = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0;
	char buf[108];
	if (on)
		hv_parse_bool(on, &enabled);
	if (!enabled || !strcmp(svc->name, "CrashDaemon"))
		return;
	if ((!path || !*path) && hv_portal_path(HV_CRASH_PORTAL, buf, sizeof(buf)) == 0)
		path = buf;
	if (path && *path && hv_crash_handler_install(path) == 0)
		hv_log_debug("%s: crash reports go to %s", svc->name, path);
}

/* A warm spare (SystemServer's SpareInstances=, docs/systemserver.md):
 * started with HAVEN_SPARE=1 and HAVEN_HANDOFF_FD but no connection, it
 * is ready and confined before anyone connects; its one connection comes
 * over the hand-off socket, and from then on it is a per-connection
 * instance: it leaves with that client. */
static void take_spare_role(hv_server *srv)
{
	const char *v = getenv("HAVEN_SPARE");
	bool spare = false;
	if (v && hv_parse_bool(v, &spare) == 0 && spare && hv_server_has_handoff(srv) && !hv_server_listens(srv))
		hv_server_set_exit_when_idle(srv, true);
	unsetenv("HAVEN_SPARE"); /* once per process, as LISTEN_FDS */
}

/* Steps 2–8 with the server made; the loop's and server's lifetimes are the
 * caller's. */
static int serve(const hv_service *svc, hv_server *srv)
{
	int r;
	if (svc->setup && (r = svc->setup(srv)) < 0)
		return r;
	install_crash_handler(svc);
	if ((r = hv_service_apply_quotas(srv, getenv(HV_SERVICE_QUOTAS_ENV))) < 0)
		return r;
	if ((r = hv_server_start(srv, socket_path)) < 0)
		return r;
	take_spare_role(srv);
	if ((r = enter_view(svc)) < 0)
		return hv_log_errno(r, "%s: failed to narrow the filesystem view", svc->name);
	if (svc->ready && (r = svc->ready(srv)) < 0)
		return r;
	if ((r = enter_pledge(svc, srv)) < 0)
		return hv_log_errno(r, "%s: failed to pledge", svc->name);
	return hv_loop_run(hv_server_loop(srv));
}

int hv_service_run(const hv_service *svc)
{
	if (!svc->pledge)
		return hv_log_errno(-EINVAL, "%s: a service must declare its promises", svc->name),
		       1;
	_hv_cleanup_(hv_loop_freep) hv_loop *loop = NULL;
	hv_server *srv = NULL;
	int r = hv_loop_new(&loop);
	if (r < 0)
		return hv_log_errno(r, "%s: failed to create the event loop", svc->name), 1;
	if ((r = hv_loop_quit_on_signals(loop)) < 0 || (r = make_server(svc, loop, &srv)) < 0)
		return hv_log_errno(r, "%s: failed to set up", svc->name), 1;
	int code = serve(svc, srv) < 0 ? 1 : 0;
	/* Clients first (their fini may use what teardown frees), then the
	 * service's own state. */
	hv_server_free(srv);
	if (svc->teardown)
		svc->teardown(code);
	return code;
}

int hv_service_main(const hv_service *svc, int argc, char **argv)
{
	int r = hv_service_parse(svc, argc, argv);
	return r <= 0 ? hv_options_exit_code(r) : hv_service_run(svc);
}
