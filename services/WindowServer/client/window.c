/* window.c — the WindowServer client library (window.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <haven/util.h>

#include "window.h"

struct wsc_window {
	wsc_display *ws;
	int32_t id;
	hv_int_rect rect;
	unsigned flags;
	const wsc_window_events *ev;
	void *ud;
	/* Double buffer: front is what the server shows, back what we paint. */
	hv_bitmap front, back;
	int32_t front_serial, back_serial;
	bool back_synced; /* back holds front's pixels outside what is repainted */
	wsc_window *next;
};

struct wsc_display {
	hv_conn *conn;
	hv_int_rect screen;
	int32_t client_id;
	int32_t next_window_id;
	int32_t next_serial;
	wsc_window *windows;
	void (*display_link)(wsc_display *ws, void *ud);
	void *display_link_ud;
	void (*theme)(wsc_display *ws, const char *name, const char *ini, size_t len, void *ud);
	void *theme_ud;
};

static wsc_window *find(hv_conn *c, int32_t id)
{
	wsc_display *ws = hv_conn_userdata(c);
	for (wsc_window *w = ws ? ws->windows : NULL; w; w = w->next)
		if (w->id == id)
			return w;
	return NULL;
}

/* --- events -------------------------------------------------------------- */
#define WINDOW_OR_RETURN(req)                                                                      \
	wsc_window *w = find(hv_call_conn(call), (req)->window_id);                                \
	if (!w)                                                                                    \
		return 0 /* a window destroyed while its events were in flight */

static int on_paint(hv_call *call, const window_client_paint_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->paint)
		w->ev->paint(w, req->rects.items, req->rects.count, w->ud);
	return 0;
}

static int on_mouse_move(hv_call *call, const window_client_mouse_move_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->mouse_move)
		w->ev->mouse_move(w, req->mouse_position, req->buttons, w->ud);
	return 0;
}

static int on_mouse_down(hv_call *call, const window_client_mouse_down_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->mouse_down)
		w->ev->mouse_down(w, req->mouse_position, req->button, req->buttons, w->ud);
	return 0;
}

static int on_mouse_up(hv_call *call, const window_client_mouse_up_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->mouse_up)
		w->ev->mouse_up(w, req->mouse_position, req->button, req->buttons, w->ud);
	return 0;
}

static int on_mouse_wheel(hv_call *call, const window_client_mouse_wheel_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->mouse_wheel)
		w->ev->mouse_wheel(w, req->mouse_position, req->wheel_delta, w->ud);
	return 0;
}

static int on_window_entered(hv_call *call, const window_client_window_entered_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->entered)
		w->ev->entered(w, true, w->ud);
	return 0;
}

static int on_window_left(hv_call *call, const window_client_window_left_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->entered)
		w->ev->entered(w, false, w->ud);
	return 0;
}

static int on_key_down(hv_call *call, const window_client_key_down_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->key)
		w->ev->key(w, req->code_point, req->key, req->modifiers, true, w->ud);
	return 0;
}

static int on_key_up(hv_call *call, const window_client_key_up_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->key)
		w->ev->key(w, req->code_point, req->key, req->modifiers, false, w->ud);
	return 0;
}

static int on_activated(hv_call *call, const window_client_window_activated_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->activated)
		w->ev->activated(w, true, w->ud);
	return 0;
}

static int on_deactivated(hv_call *call, const window_client_window_deactivated_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->activated)
		w->ev->activated(w, false, w->ud);
	return 0;
}

static int on_state_changed(hv_call *call, const window_client_window_state_changed_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->state_changed)
		w->ev->state_changed(w, req->minimized, req->maximized, req->occluded, w->ud);
	return 0;
}

static int on_close_request(hv_call *call, const window_client_window_close_request_req *req)
{
	WINDOW_OR_RETURN(req);
	if (w->ev->close_request)
		w->ev->close_request(w, w->ud);
	return 0;
}

static int on_resized(hv_call *call, const window_client_window_resized_req *req)
{
	WINDOW_OR_RETURN(req);
	w->rect = req->new_rect;
	if (w->ev->resized)
		w->ev->resized(w, req->new_rect, w->ud);
	return 0;
}

static int on_moved(hv_call *call, const window_client_window_moved_req *req)
{
	WINDOW_OR_RETURN(req);
	w->rect = req->new_rect;
	if (w->ev->moved)
		w->ev->moved(w, req->new_rect, w->ud);
	return 0;
}

static int on_display_link(hv_call *call, const window_client_display_link_notification_req *req)
{
	wsc_display *ws = hv_conn_userdata(hv_call_conn(call));
	if (ws && ws->display_link)
		ws->display_link(ws, ws->display_link_ud);
	return 0;
}

static int on_theme(hv_call *call, const window_client_update_system_theme_req *req)
{
	wsc_display *ws = hv_conn_userdata(hv_call_conn(call));
	if (ws && ws->theme)
		ws->theme(ws, req->theme_name, req->theme_buffer.data, req->theme_buffer.size,
			  ws->theme_ud);
	return 0;
}

static int on_ping(hv_call *call, const window_client_ping_req *req)
{
	window_server_pong(hv_call_conn(call));
	return 0;
}

/* Every event's handler, in WindowClient.ipc's order. */
static const window_client_handlers handlers = WINDOW_CLIENT_HANDLERS(
	on_paint, on_mouse_move, on_mouse_down, on_mouse_up, on_mouse_wheel, on_window_entered,
	on_window_left, on_key_down, on_key_up, on_activated, on_deactivated, on_state_changed,
	on_close_request, on_resized, on_moved, on_theme, on_display_link, on_ping);

/* --- connection ---------------------------------------------------------- */
int wsc_connect(hv_loop *loop, const char *path, wsc_display **out)
{
	_hv_free_ wsc_display *ws = calloc(1, sizeof(*ws));
	if (!ws)
		return -ENOMEM;
	_hv_cleanup_(hv_conn_closep) hv_conn *c = NULL;
	int r = path ? hv_conn_connect(loop, path, &c) : hv_conn_connect_portal(loop, WSC_PORTAL, &c);
	if (r < 0)
		return r;
	hv_conn_set_userdata(c, ws);
	if ((r = hv_conn_serve(c, &window_client_endpoint, &handlers)) < 0)
		return r;
	if ((r = window_server_greet(c, &ws->screen, &ws->client_id)) < 0)
		return r;
	ws->conn = HV_TAKE_PTR(c);
	*out = HV_TAKE_PTR(ws);
	return 0;
}

void wsc_close(wsc_display *ws)
{
	if (!ws)
		return;
	while (ws->windows)
		wsc_window_destroy(ws->windows);
	hv_conn_close(ws->conn);
	free(ws);
}

hv_conn *wsc_conn(const wsc_display *ws)
{
	return ws->conn;
}

hv_int_rect wsc_screen_rect(const wsc_display *ws)
{
	return ws->screen;
}

int32_t wsc_client_id(const wsc_display *ws)
{
	return ws->client_id;
}

void wsc_set_theme_callback(wsc_display *ws,
			      void (*cb)(wsc_display *ws, const char *name, const char *ini, size_t len,
					 void *ud),
			      void *ud)
{
	ws->theme = cb;
	ws->theme_ud = ud;
}

void wsc_set_display_link(wsc_display *ws, void (*cb)(wsc_display *ws, void *ud), void *ud)
{
	ws->display_link = cb;
	ws->display_link_ud = ud;
	if (cb)
		window_server_enable_display_link(ws->conn);
	else
		window_server_disable_display_link(ws->conn);
}

/* --- windows ------------------------------------------------------------- */
int wsc_window_create(wsc_display *ws, hv_int_rect rect, const char *title, unsigned flags,
		     const wsc_window_events *events, void *ud, wsc_window **out)
{
	static const wsc_window_events none;
	wsc_window *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (wsc_window){.ws = ws, .id = ++ws->next_window_id, .rect = rect, .flags = flags,
			 .ev = events ? events : &none, .ud = ud, .front_serial = -1,
			 .back_serial = -1, .front.buffer = HV_BUFFER_EMPTY,
			 .back.buffer = HV_BUFFER_EMPTY};
	/* Linked first: the first paint event may arrive during the call. */
	w->next = ws->windows;
	ws->windows = w;
	int r = window_server_create_window(ws->conn, w->id, rect, flags & WSC_WINDOW_ALPHA,
					    !(flags & WSC_WINDOW_NO_MINIMIZE),
					    !(flags & WSC_WINDOW_FIXED_SIZE),
					    flags & WSC_WINDOW_FRAMELESS, title ? title : "");
	if (r < 0) {
		ws->windows = w->next;
		free(w);
		return r;
	}
	*out = w;
	return 0;
}

void wsc_window_destroy(wsc_window *w)
{
	if (!w)
		return;
	for (wsc_window **p = &w->ws->windows; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	if (hv_conn_is_open(w->ws->conn))
		window_server_destroy_window(w->ws->conn, w->id);
	hv_bitmap_release(&w->front);
	hv_bitmap_release(&w->back);
	free(w);
}

int32_t wsc_window_id(const wsc_window *w)
{
	return w->id;
}

hv_int_rect wsc_window_rect(const wsc_window *w)
{
	return w->rect;
}

int wsc_window_set_title(wsc_window *w, const char *title)
{
	return window_server_set_window_title(w->ws->conn, w->id, title);
}

int wsc_window_set_rect(wsc_window *w, hv_int_rect rect)
{
	return window_server_set_window_rect(w->ws->conn, w->id, rect, &w->rect);
}

static uint32_t format_of(const wsc_window *w)
{
	return w->flags & WSC_WINDOW_ALPHA ? HV_PIXEL_BGRA8888 : HV_PIXEL_BGRX8888;
}

static bool fits(const hv_bitmap *b, const wsc_window *w)
{
	return b->buffer.fd >= 0 && (int64_t)b->width == w->rect.width &&
	       (int64_t)b->height == w->rect.height;
}

hv_bitmap *wsc_window_back(wsc_window *w)
{
	if (fits(&w->back, w))
		return &w->back;
	/* A new size: both buffers start over. */
	hv_bitmap_release(&w->back);
	hv_bitmap_release(&w->front);
	w->front_serial = -1;
	if (hv_bitmap_create((uint32_t)w->rect.width, (uint32_t)w->rect.height, format_of(w),
			     &w->back) < 0)
		return NULL;
	w->back_serial = ++w->ws->next_serial;
	w->back_synced = true; /* nothing shown yet: nothing to keep */
	return &w->back;
}

/* Copy r from src to dst (same size and format). */
static void copy_rect(hv_bitmap *dst, const hv_bitmap *src, hv_int_rect r)
{
	int x0 = HV_MAX(r.x, 0), y0 = HV_MAX(r.y, 0);
	int x1 = HV_MIN((int64_t)r.x + r.width, (int64_t)src->width);
	int y1 = HV_MIN((int64_t)r.y + r.height, (int64_t)src->height);
	for (int y = y0; y < y1 && x1 > x0; y++)
		memcpy((uint8_t *)dst->buffer.data + (size_t)y * dst->stride + (size_t)x0 * 4,
		       (const uint8_t *)src->buffer.data + (size_t)y * src->stride + (size_t)x0 * 4,
		       (size_t)(x1 - x0) * 4);
}

int wsc_window_flip(wsc_window *w, const hv_int_rect *rects, size_t n)
{
	hv_int_rect whole = {0, 0, w->rect.width, w->rect.height};
	if (w->back.buffer.fd < 0)
		return -ENODATA; /* nothing painted */
	if (!rects) {
		rects = &whole;
		n = 1;
	}
	int r = window_server_set_window_backing_store(w->ws->conn, w->id, w->back, w->back_serial,
						       false);
	if (r >= 0)
		r = window_server_did_finish_painting(
			w->ws->conn, w->id, (hv_vec_int_rect){.items = (hv_int_rect *)rects, .count = n});
	/* Sent now, not at the end of a loop iteration the caller may not run. */
	if (r >= 0)
		r = hv_conn_flush(w->ws->conn);
	if (r < 0)
		return r;
	hv_bitmap t = w->front;
	int32_t ts = w->front_serial;
	w->front = w->back;
	w->front_serial = w->back_serial;
	w->back = t;
	w->back_serial = ts;
	if (w->back.buffer.fd < 0) {
		/* The second buffer, made on the first flip. */
		if ((r = hv_bitmap_create(w->front.width, w->front.height, format_of(w), &w->back)) < 0)
			return r;
		w->back_serial = ++w->ws->next_serial;
		w->back_synced = false;
	}
	/* Keep the back buffer what the screen shows, so the next paint can
	 * touch only what changes. */
	if (!w->back_synced) {
		copy_rect(&w->back, &w->front, whole);
		w->back_synced = true;
	} else {
		for (size_t i = 0; i < n; i++)
			copy_rect(&w->back, &w->front, rects[i]);
	}
	return 0;
}

void wsc_bitmap_fill(hv_bitmap *b, hv_int_rect r, uint32_t argb)
{
	uint32_t a = argb >> 24, px = argb;
	if (b->format == HV_PIXEL_BGRA8888) {
		px = a << 24 | (((argb >> 16) & 0xff) * a / 255) << 16 |
		     (((argb >> 8) & 0xff) * a / 255) << 8 | ((argb & 0xff) * a / 255);
	} else if (b->format == HV_PIXEL_BGRX8888) {
		px |= 0xff000000u;
	}
	int x0 = HV_MAX(r.x, 0), y0 = HV_MAX(r.y, 0);
	int x1 = HV_MIN((int64_t)r.x + r.width, (int64_t)b->width);
	int y1 = HV_MIN((int64_t)r.y + r.height, (int64_t)b->height);
	for (int y = y0; y < y1; y++) {
		uint32_t *row = (uint32_t *)((uint8_t *)b->buffer.data + (size_t)y * b->stride);
		for (int x = x0; x < x1; x++)
			row[x] = px;
	}
}
