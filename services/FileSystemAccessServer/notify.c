/* notify.c — the fallback when no prompt agent is registered: the question
 * as a NotificationServer notification with three action buttons (allow
 * once, always, deny). Asynchronous throughout: the notification is shown
 * by an async call and answered by NotificationClient.action_invoked; a
 * notification closed without an action denies. One connection to the
 * "notify" portal, made when first needed and again after it ends. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "FileSystemAccessServer.h"
#include "NotificationClient.ipc.h"
#include "NotificationServer.ipc.h"

struct pending {
	uint64_t qid;
	uint32_t notif; /* 0 until the show call answered */
	struct pending *next;
};

static hv_conn *conn;
static hv_loop *notify_loop;
static struct pending *pendings;
static fsa_notify_cb answer_cb;

static struct pending **find(uint64_t qid, uint32_t notif)
{
	for (struct pending **p = &pendings; *p; p = &(*p)->next)
		if ((qid && (*p)->qid == qid) || (notif && (*p)->notif == notif))
			return p;
	return NULL;
}

/* Forget the entry and answer its question (decision < 0: denied). */
static void settle(struct pending **p, int decision)
{
	struct pending *e = *p;
	*p = e->next;
	uint64_t qid = e->qid;
	free(e);
	answer_cb(qid, decision);
}

static int on_action(hv_call *call, const notification_client_action_invoked_req *req)
{
	struct pending **p = find(0, req->id);
	if (!p)
		return 0;
	int d = !strcmp(req->action, "once")	   ? FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ONCE
		: !strcmp(req->action, "always") ? FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS
						 : FILE_SYSTEM_ACCESS_SERVER_DECISION_DENY;
	settle(p, d);
	return 0;
}

static int on_closed(hv_call *call, const notification_client_closed_req *req)
{
	struct pending **p = find(0, req->id);
	if (p)
		settle(p, -1); /* dismissed or expired: denied */
	return 0;
}

static const notification_client_handlers events = {.action_invoked = on_action, .closed = on_closed};

static void close_later(hv_loop *loop, void *ud) { hv_conn_close(ud); }

/* NotificationServer went away: its questions are denied; the next one
 * connects again. */
static void on_gone(hv_conn *c, void *ud)
{
	conn = NULL;
	hv_loop_defer(notify_loop, close_later, c);
	while (pendings)
		settle(&pendings, -1);
}

static void on_shown(hv_conn *c, int status, const notification_server_show_rep *rep, void *ud)
{
	uint64_t qid = (uint64_t)(uintptr_t)ud;
	struct pending **p = find(qid, 0);
	if (!p)
		return;
	if (status < 0)
		settle(p, -1);
	else
		(*p)->notif = rep->id;
}

static void on_close_done(hv_conn *c, int status, const notification_server_close_rep *rep, void *ud) {}

int fsa_notify_ask(hv_loop *loop, uint64_t qid, const char *text, int timeout_ms, fsa_notify_cb cb)
{
	answer_cb = cb;
	notify_loop = loop;
	if (!conn) {
		int r = hv_conn_connect_portal(loop, "notify", &conn);
		if (r < 0) {
			conn = NULL;
			return r;
		}
		hv_conn_serve(conn, &notification_client_endpoint, &events);
		hv_conn_on_disconnect(conn, on_gone, NULL);
	}
	struct pending *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	e->qid = qid;
	notification_server_action actions[] = {
		{.id = "once", .label = "Allow once"}, {.id = "always", .label = "Always allow"},
		{.id = "deny", .label = "Deny"}};
	hv_vec_notification_server_action v = {.items = actions, .count = 3};
	int r = notification_server_show_async(conn, "Allow access to a file?", text, (hv_opt_bitmap){0}, "",
					       NOTIFICATION_SERVER_URGENCY_CRITICAL, v, timeout_ms, on_shown,
					       (void *)(uintptr_t)qid);
	if (r < 0) {
		free(e);
		return r;
	}
	e->next = pendings;
	pendings = e;
	return 0;
}

void fsa_notify_withdraw(uint64_t qid)
{
	struct pending **p = find(qid, 0);
	if (!p)
		return;
	struct pending *e = *p;
	*p = e->next;
	if (conn && e->notif)
		notification_server_close_async(conn, e->notif, on_close_done, NULL);
	free(e);
}
