/* wm.c — the window manager's channel (WindowManagerServer.ipc): a client
 * that sets an event mask hears of every window's state, rect and
 * removal; any client may activate, minimize or restore any window, as a
 * Taskbar does. */
#include "WindowServer.h"

static int send_state(hv_conn *c, struct ws_client *cl, void *ud)
{
	struct ws_window *w = ud;
	struct ws_rect r = w->rect;
	window_manager_client_window_state_changed(c, w->client_id, w->id, ws.comp.active == w,
						   w->minimized, w->maximized, w->frameless,
						   w->title ? w->title : "",
						   (hv_int_rect){r.x, r.y, r.width, r.height});
	return 0;
}

static int send_rect(hv_conn *c, struct ws_client *cl, void *ud)
{
	struct ws_window *w = ud;
	struct ws_rect r = w->rect;
	window_manager_client_window_rect_changed(c, w->client_id, w->id,
						  (hv_int_rect){r.x, r.y, r.width, r.height});
	return 0;
}

static int send_removed(hv_conn *c, struct ws_client *cl, void *ud)
{
	struct ws_window *w = ud;
	window_manager_client_window_removed(c, w->client_id, w->id);
	return 0;
}

struct wm_visit {
	int (*cb)(hv_conn *c, struct ws_client *cl, void *ud);
	void *ud;
};

static int visit(hv_conn *c, void *ud)
{
	struct wm_visit *v = ud;
	struct ws_client *cl = hv_conn_userdata(c);
	return cl && cl->wm_mask ? v->cb(c, cl, v->ud) : 0;
}

static int foreach_wm(int (*cb)(hv_conn *c, struct ws_client *cl, void *ud), void *ud)
{
	struct wm_visit v = {cb, ud};
	return ws.srv ? hv_server_foreach(ws.srv, visit, &v) : 0;
}

void ws_wm_state(struct ws_window *w)
{
	if (w)
		foreach_wm(send_state, w);
}

void ws_wm_rect(struct ws_window *w)
{
	foreach_wm(send_rect, w);
}

void ws_wm_removed(struct ws_window *w)
{
	foreach_wm(send_removed, w);
}

/* Any client's window by its ids, or NULL (gone). */
static struct ws_window *find_any(int32_t client_id, int32_t window_id)
{
	for (struct ws_window *w = ws.comp.top; w; w = w->below)
		if (w->client_id == client_id && w->id == window_id)
			return w;
	return NULL;
}

static int on_set_event_mask(hv_call *call, const window_manager_server_set_event_mask_req *req)
{
	struct ws_client *cl = hv_call_state(call);
	bool was = cl->wm_mask;
	cl->wm_mask = req->event_mask;
	if (!was && cl->wm_mask)
		for (struct ws_window *w = ws.comp.bottom; w; w = w->above)
			send_state(hv_call_conn(call), cl, w);
	return 0;
}

static int on_set_active_window(hv_call *call, const window_manager_server_set_active_window_req *req)
{
	struct ws_window *w = find_any(req->client_id, req->window_id);
	if (!w)
		return 0;
	if (w->minimized)
		ws_set_minimized(w, false);
	ws_activate(w);
	return 0;
}

static int on_set_window_minimized(hv_call *call,
				   const window_manager_server_set_window_minimized_req *req)
{
	struct ws_window *w = find_any(req->client_id, req->window_id);
	if (w)
		ws_set_minimized(w, req->minimized);
	return 0;
}

static int on_toggle_show_desktop(hv_call *call, const window_manager_server_toggle_show_desktop_req *req)
{
	bool any_visible = ws_compositor_topmost(&ws.comp, NULL) != NULL;
	struct ws_window *next;
	for (struct ws_window *w = ws.comp.top; w; w = next) {
		next = w->below; /* restoring raises w */
		ws_set_minimized(w, any_visible);
	}
	return 0;
}

const window_manager_server_handlers ws_wm_handlers = WINDOW_MANAGER_SERVER_HANDLERS(
	on_set_event_mask, on_set_active_window, on_set_window_minimized, on_toggle_show_desktop);
