/* control.c — SystemServer.ipc's handlers: on_<message> for each message, each
 * a thin layer over manager.h. Requests that change anything need the
 * peer to be root or the manager's own user; anyone who can reach the
 * socket may read status. `logs` with follow keeps the connection as a
 * follower that receives SystemServerClient.log_line events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>
#include <haven/util.h>

#include "SystemServer.ipc.h"
#include "SystemServerClient.ipc.h"
#include "control.h"
#include "init.h"

/* Followers of `svc logs -f` per connection, at most this many at once. */
#define SS_CONTROL_MAX_FOLLOWERS 64u
/* What a uid other than root and the manager's own may make the manager
 * hold on its control socket, which every user reaches in system mode
 * (status is for everyone): bytes buffered beyond lib/ipc's 64 KiB per
 * connection and direction, fds, connections. The largest reply, `svc
 * logs -n 1000` of 4 KiB lines, is about 4 MiB; a peer that goes over is
 * ended (lib/ipc). */
#define SS_CONTROL_UID_BYTES (8u << 20)
#define SS_CONTROL_UID_FDS 16u
#define SS_CONTROL_UID_CONNECTIONS 16u

typedef struct follower {
	hv_conn *conn;
	char *name;
} follower;

struct ss_control {
	ss_manager *m;
	hv_server *srv;
	char *path;
	follower followers[SS_CONTROL_MAX_FOLLOWERS];
	unsigned nfollowers;
};

/* Handlers get the call, not our state; there is one control per process. */
static ss_control *ctl;

static int need_admin(hv_call *call, const char *what)
{
	const struct ucred *peer = hv_call_peer(call);
	if (peer && (peer->uid == 0 || peer->uid == geteuid()))
		return 0;
	return hv_call_fail(call, -EPERM, "only root or uid %u may %s", (unsigned)geteuid(), what);
}

static ss_unit *find(hv_call *call, const char *name, int *err)
{
	ss_unit *u = ss_manager_find(ctl->m, name);
	if (!u)
		*err = hv_call_fail(call, -ENOENT, "no service named \"%s\"", name);
	return u;
}

static void fill(hv_call *call, ss_unit *u, system_server_service_status *s)
{
	s->name = u->def->name;
	s->state = ss_unit_state(u);
	s->pid = (int32_t)ss_unit_main_pid(u);
	s->restarts = u->restarts;
	s->instances = u->ninstances;
	s->reason = u->fail_reason ? u->fail_reason : (u->def->invalid ? "invalid definition" : "");
	s->definition = hv_call_printf(call, "%s:%d", u->def->file, u->def->line);
	if (!s->definition)
		s->definition = "";
}

static int on_list(hv_call *call, const system_server_list_req *req, system_server_list_rep *rep)
{
	size_t n = ss_manager_unit_count(ctl->m);
	rep->services.items = hv_call_calloc(call, n ? n : 1, sizeof *rep->services.items);
	if (!rep->services.items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		fill(call, ss_manager_unit_at(ctl->m, i), &rep->services.items[i]);
	rep->services.count = n;
	return 0;
}

static int on_status(hv_call *call, const system_server_status_req *req,
		     system_server_status_rep *rep)
{
	int err = 0;
	ss_unit *u = find(call, req->name, &err);
	if (!u)
		return err;
	fill(call, u, &rep->service);
	return 0;
}

/* start / stop / restart share their shape. */
static int op(hv_call *call, const char *name, int (*fn)(ss_manager *, const char *), const char *verb)
{
	int r = need_admin(call, verb);
	if (r < 0)
		return r;
	if (!ss_manager_find(ctl->m, name))
		return hv_call_fail(call, -ENOENT, "no service named \"%s\"", name);
	r = fn(ctl->m, name);
	if (r == -ENOEXEC)
		return hv_call_fail(call, r, "%s has an invalid definition (see the manager's log)", name);
	return r;
}

static int on_start(hv_call *call, const system_server_start_req *req, system_server_start_rep *rep)
{
	return op(call, req->name, ss_manager_start, "start services");
}

static int on_stop(hv_call *call, const system_server_stop_req *req, system_server_stop_rep *rep)
{
	return op(call, req->name, ss_manager_stop, "stop services");
}

static int on_restart(hv_call *call, const system_server_restart_req *req,
		      system_server_restart_rep *rep)
{
	return op(call, req->name, ss_manager_restart, "restart services");
}

static int on_reload(hv_call *call, const system_server_reload_req *req,
		     system_server_reload_rep *rep)
{
	int r = need_admin(call, "reload");
	if (r < 0)
		return r;
	r = ss_manager_reload(ctl->m);
	return r < 0 ? hv_call_fail(call, r, "cannot read the definitions: %s", strerror(-r)) : 0;
}

static int on_shutdown(hv_call *call, const system_server_shutdown_req *req,
		       system_server_shutdown_rep *rep)
{
	int r = need_admin(call, "shut down");
	if (r < 0)
		return r;
	ss_manager_shutdown(ctl->m);
	return 0;
}

static int on_boot_times(hv_call *call, const system_server_boot_times_req *req,
			 system_server_boot_times_rep *rep)
{
	size_t n = ss_manager_unit_count(ctl->m);
	rep->services.items = hv_call_calloc(call, n ? n : 1, sizeof *rep->services.items);
	if (!rep->services.items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const ss_unit *u = ss_manager_unit_at(ctl->m, i);
		rep->services.items[i] = (system_server_boot_time){
			.name = u->def->name,
			.started_us = ss_init_boot_us(u->boot_started_ns),
			.ready_us = ss_init_boot_us(u->boot_ready_ns),
		};
	}
	rep->services.count = n;
	return 0;
}

static int on_power(hv_call *call, const system_server_power_req *req, system_server_power_rep *rep)
{
	enum ss_power a;
	int r = need_admin(call, "power off or reboot");
	if (r < 0)
		return r;
	if (ss_power_parse(req->action, &a) < 0)
		return hv_call_fail(call, -EINVAL, "unknown action \"%s\" (poweroff, reboot, halt)", req->action);
	if (ss_init_request(a) < 0)
		return hv_call_fail(call, -EOPNOTSUPP, "SystemServer is not the init (see SystemServer --init); "
				    "svc shutdown stops it");
	ss_manager_shutdown(ctl->m);
	return 0;
}

typedef struct tail_ctx {
	hv_call *call;
	hv_vec_string *out;
} tail_ctx;

static void collect(const char *line, void *ud)
{
	tail_ctx *t = ud;
	t->out->items[t->out->count++] = line;
}

static int on_logs(hv_call *call, const system_server_logs_req *req, system_server_logs_rep *rep)
{
	int err = 0;
	ss_unit *u = find(call, req->name, &err);
	if (!u)
		return err;
	unsigned n = req->count ? req->count : SS_LOG_RING_LINES;
	n = HV_MIN(n, SS_LOG_RING_LINES);
	rep->lines.items = hv_call_calloc(call, n, sizeof(char *));
	if (!rep->lines.items)
		return -ENOMEM;
	tail_ctx t = {call, &rep->lines};
	ss_unit_log_tail(u, n, collect, &t);
	if (req->follow) {
		if (ctl->nfollowers == SS_CONTROL_MAX_FOLLOWERS)
			return hv_call_fail(call, -EUSERS, "too many log followers (%u)", SS_CONTROL_MAX_FOLLOWERS);
		char *name = strdup(req->name);
		if (!name)
			return -ENOMEM;
		ctl->followers[ctl->nfollowers++] = (follower){hv_call_conn(call), name};
	}
	return 0;
}

static int on_sockets(hv_call *call, const system_server_sockets_req *req,
		      system_server_sockets_rep *rep)
{
	int err = 0;
	ss_unit *u = find(call, req->name, &err);
	if (!u)
		return err;
	/* Borrowed: the definition outlives the reply, which is sent now. */
	rep->paths.items = (const char **)u->def->sockets.v;
	rep->paths.count = u->def->sockets.n;
	return 0;
}

static const system_server_handlers handlers = {
	.list = on_list,
	.status = on_status,
	.start = on_start,
	.stop = on_stop,
	.restart = on_restart,
	.reload = on_reload,
	.logs = on_logs,
	.shutdown = on_shutdown,
	.boot_times = on_boot_times,
	.power = on_power,
	.sockets = on_sockets,
};

static void drop_follower(unsigned i)
{
	free(ctl->followers[i].name);
	ctl->followers[i] = ctl->followers[--ctl->nfollowers];
}

static void on_disconnect(hv_server *s, hv_conn *c, void *userdata)
{
	for (unsigned i = 0; i < ctl->nfollowers;)
		if (ctl->followers[i].conn == c)
			drop_follower(i);
		else
			i++;
}

static void forward_log_line(ss_unit *u, const char *line, void *userdata)
{
	for (unsigned i = 0; i < ctl->nfollowers;) {
		follower *f = &ctl->followers[i];
		if (strcmp(f->name, u->def->name) == 0 &&
		    system_server_client_log_line(f->conn, f->name, line) < 0) {
			drop_follower(i); /* it is going away; its disconnect follows */
			continue;
		}
		i++;
	}
}

int ss_control_start(ss_manager *m, ss_control **out)
{
	*out = NULL;
	_hv_cleanup_(ss_control_freep) ss_control *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->m = m;
	int r = hv_server_new(ss_manager_loop(m), &system_server_endpoint, &handlers, &c->srv);
	if (r < 0)
		return r;
	if (asprintf(&c->path, "%s/SystemServer", ss_manager_portal_dir(m)) < 0)
		return c->path = NULL, -ENOMEM;
	r = hv_server_set_quotas(c->srv, HV_IPC_ANY_UID,
				 &(hv_ipc_quotas){.bytes = SS_CONTROL_UID_BYTES,
						  .fds = SS_CONTROL_UID_FDS,
						  .connections = SS_CONTROL_UID_CONNECTIONS});
	if (r < 0)
		return r;
	r = hv_server_listen(c->srv, c->path);
	if (r < 0)
		return hv_log_errno(r, "Failed to listen on %s", c->path);
	/* Reading status is for everyone who can reach the portal dir; the
	 * handlers check who may change things. */
	if (!ss_manager_user_mode(m) && !geteuid() && chmod(c->path, 0666) < 0)
		hv_log_warn("cannot chmod %s: %m", c->path);
	hv_server_on_disconnect(c->srv, on_disconnect, c);
	ctl = c;
	ss_manager_on_log_line(m, forward_log_line, c);
	*out = HV_TAKE_PTR(c);
	return 0;
}

void ss_control_free(ss_control *c)
{
	if (!c)
		return;
	ss_manager_on_log_line(c->m, NULL, NULL);
	while (c->nfollowers)
		drop_follower(c->nfollowers - 1);
	hv_server_free(c->srv);
	if (c->path)
		unlink(c->path);
	free(c->path);
	if (ctl == c)
		ctl = NULL;
	free(c);
}
