/* WindowServer.c — the handlers of WindowServer.ipc, one per message, and
 * the frame clock. Each client's windows are in its connection state; a
 * window id the client does not own, or a Bitmap that lies about itself,
 * ends that client's connection (SerenityOS's did_misbehave) and nobody
 * else notices. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>

#include "WindowServer.h"

struct ws_server ws;

static hv_int_rect to_ipc(struct ws_rect r)
{
	return (hv_int_rect){r.x, r.y, r.width, r.height};
}

static struct ws_rect from_ipc(hv_int_rect r)
{
	return (struct ws_rect){r.x, r.y, r.width, r.height};
}

static struct ws_client *client_of(struct ws_window *w)
{
	return w->owner;
}

/* --- the frame clock ----------------------------------------------------- */
static bool any_display_link(void);

void ws_flush_now(void)
{
	if (!ws_has_damage(&ws.comp))
		return;
	pixman_region32_t flushed;
	pixman_region32_init(&flushed);
	ws_compose(&ws.comp, &flushed);
	ws.backend.ops->flush(&ws.backend, &flushed);
	pixman_region32_fini(&flushed);
}

static int send_display_link(hv_conn *c, void *ud)
{
	struct ws_client *cl = hv_conn_userdata(c);
	if (cl && cl->display_link)
		window_client_display_link_notification(c);
	return 0;
}

static void on_frame(hv_loop *loop, hv_timer *t, void *ud)
{
	ws.last_frame_ns = hv_now_ns();
	ws_flush_now();
	if (any_display_link()) {
		hv_server_foreach(ws.srv, send_display_link, NULL);
		hv_timer_arm(ws.frame_timer, WS_FRAME_NS, 0);
	}
}

/* One frame per WS_FRAME_NS at most: damage arriving between frames waits
 * for the next one (and is merged with whatever else comes meanwhile). */
void ws_schedule_frame(void)
{
	if (!ws.frame_timer || hv_timer_armed(ws.frame_timer))
		return;
	uint64_t now = hv_now_ns(), next = ws.last_frame_ns + WS_FRAME_NS;
	hv_timer_arm(ws.frame_timer, next > now ? next - now : 1, 0);
}

int ws_start_clock(hv_loop *loop)
{
	int r = hv_loop_add_timer(loop, WS_FRAME_NS, 0, on_frame, NULL, &ws.frame_timer);
	if (r < 0)
		return r;
	/* The first frame comes with the first damage. */
	hv_timer_disarm(ws.frame_timer);
	return 0;
}

static int check_display_link(hv_conn *c, void *ud)
{
	struct ws_client *cl = hv_conn_userdata(c);
	return cl && cl->display_link;
}

static bool any_display_link(void)
{
	return ws.srv && hv_server_foreach(ws.srv, check_display_link, NULL);
}

/* --- clients and their windows ------------------------------------------ */
int ws_client_init(hv_conn *c, void *state)
{
	struct ws_client *cl = state;
	cl->conn = c;
	cl->id = ++ws.next_client_id;
	/* The window manager's messages come on the same connection. */
	return hv_conn_serve(c, &window_manager_server_endpoint, &ws_wm_handlers);
}

static void window_destroy(struct ws_client *cl, size_t i);

void ws_client_fini(hv_conn *c, void *state)
{
	struct ws_client *cl = state;
	while (cl->n_windows)
		window_destroy(cl, cl->n_windows - 1);
	free(cl->windows);
	ws_schedule_frame();
}

static struct ws_window *find_window(struct ws_client *cl, int32_t id, size_t *index)
{
	for (size_t i = 0; i < cl->n_windows; i++) {
		if (cl->windows[i]->id == id) {
			if (index)
				*index = i;
			return cl->windows[i];
		}
	}
	return NULL;
}

/* The caller's window `id`, or NULL after ending the connection: an id a
 * client never created is a broken (or hostile) client. */
static struct ws_window *lookup(hv_call *call, int32_t id, const char *what)
{
	struct ws_window *w = find_window(hv_call_state(call), id, NULL);
	if (!w)
		hv_conn_misbehave(hv_call_conn(call), "%s: window %d is not this client's", what, id);
	return w;
}

static void window_destroy(struct ws_client *cl, size_t i)
{
	struct ws_window *w = cl->windows[i];
	bool was_active = ws.comp.active == w;
	ws_input_forget(w);
	ws_wm_removed(w);
	ws_compositor_remove(&ws.comp, w);
	ws_window_free(w);
	cl->windows[i] = cl->windows[--cl->n_windows];
	if (was_active)
		ws_activate(ws_compositor_topmost(&ws.comp, NULL));
}

void ws_send_paint(struct ws_window *w, const hv_int_rect *rects, size_t n)
{
	hv_int_rect whole = {0, 0, w->rect.width, w->rect.height};
	if (!rects) {
		rects = &whole;
		n = 1;
	}
	window_client_paint(client_of(w)->conn, w->id, (hv_int_size){w->rect.width, w->rect.height},
			    (hv_vec_int_rect){.items = (hv_int_rect *)rects, .count = n});
}

void ws_activate(struct ws_window *w)
{
	struct ws_window *old = ws_compositor_activate(&ws.comp, w);
	if (old == w)
		return;
	if (old)
		window_client_window_deactivated(client_of(old)->conn, old->id);
	if (w)
		window_client_window_activated(client_of(w)->conn, w->id);
	ws_wm_state(old);
	ws_wm_state(w);
	ws_schedule_frame();
}

static void send_state(struct ws_window *w)
{
	ws_wm_state(w);
	window_client_window_state_changed(client_of(w)->conn, w->id, w->minimized, w->maximized,
					   ws_window_occluded(&ws.comp, w));
}

void ws_set_minimized(struct ws_window *w, bool minimized)
{
	if (w->minimized == minimized)
		return;
	ws_window_set_minimized(&ws.comp, w, minimized);
	if (minimized && ws.comp.active == w)
		ws_activate(ws_compositor_topmost(&ws.comp, w));
	else if (!minimized)
		ws_activate(w);
	send_state(w);
	ws_schedule_frame();
}

void ws_set_maximized(struct ws_window *w, bool maximized)
{
	if (w->maximized == maximized || !w->resizable)
		return;
	ws_window_set_maximized(&ws.comp, w, maximized);
	window_client_window_resized(client_of(w)->conn, w->id, to_ipc(w->rect));
	send_state(w);
	ws_send_paint(w, NULL, 0);
	ws_schedule_frame();
}

void ws_notify_resized(struct ws_window *w)
{
	ws_wm_rect(w);
	window_client_window_resized(client_of(w)->conn, w->id, to_ipc(w->rect));
	ws_send_paint(w, NULL, 0);
	ws_schedule_frame();
}

void ws_notify_moved(struct ws_window *w)
{
	ws_wm_rect(w);
	window_client_window_moved(client_of(w)->conn, w->id, to_ipc(w->rect));
	ws_schedule_frame();
}

/* --- themes -------------------------------------------------------------- */
int ws_add_theme(const struct ws_theme *t)
{
	for (size_t i = 0; i < ws.n_themes; i++) {
		if (!strcmp(ws.themes[i].name, t->name)) {
			ws.themes[i] = *t;
			return 0;
		}
	}
	if (ws.n_themes == WS_MAX_THEMES)
		return -ENOSPC;
	ws.themes[ws.n_themes++] = *t;
	return 0;
}

static int send_theme(hv_conn *c, void *ud)
{
	window_client_update_system_theme(c, ws.theme.name, *(const hv_buffer *)ud);
	return 0;
}

/* Every client hears of the new theme, as INI text in a sealed buffer. */
static int broadcast_theme(void)
{
	char text[4096];
	int n = ws_theme_format(&ws.theme, text, sizeof(text));
	if (n < 0)
		return n;
	_hv_cleanup_(hv_buffer_release) hv_buffer b = HV_BUFFER_EMPTY;
	int r = hv_buffer_create((size_t)n, &b);
	if (r < 0)
		return r;
	memcpy(b.data, text, (size_t)n);
	if ((r = hv_buffer_seal(&b)) < 0)
		return r;
	hv_server_foreach(ws.srv, send_theme, &b);
	return 0;
}

/* New metrics: titles are shaped again at the font's new size, and
 * maximized windows fill the screen less their new frames. */
static void apply_metrics(void)
{
	if (ws.font)
		ws_font_set_size(ws.font, ws.theme.title_height * 2 / 3);
	for (struct ws_window *w = ws.comp.top; w; w = w->below) {
		ws_window_set_title(&ws.comp, w, w->title);
		if (!w->maximized)
			continue;
		struct ws_rect restore = w->restore_rect;
		w->maximized = false;
		ws_window_set_maximized(&ws.comp, w, true);
		w->restore_rect = restore;
		window_client_window_resized(client_of(w)->conn, w->id, to_ipc(w->rect));
		ws_send_paint(w, NULL, 0);
	}
}

int ws_switch_theme(const char *name)
{
	size_t i = 0;
	while (i < ws.n_themes && strcmp(ws.themes[i].name, name))
		i++;
	if (i == ws.n_themes)
		return -ENOENT;
	ws.theme = ws.themes[i];
	ws_compositor_set_theme(&ws.comp, &ws.theme);
	apply_metrics();
	ws_schedule_frame();
	return broadcast_theme();
}

/* --- handlers ------------------------------------------------------------ */
static int on_greet(hv_call *call, const window_server_greet_req *req, window_server_greet_rep *rep)
{
	struct ws_client *cl = hv_call_state(call);
	rep->screen_rect = (hv_int_rect){0, 0, ws.comp.width, ws.comp.height};
	rep->client_id = cl->id;
	return 0;
}

static bool rect_ok(hv_int_rect r)
{
	return r.width > 0 && r.height > 0 && r.width <= WS_MAX_WINDOW_SIDE &&
	       r.height <= WS_MAX_WINDOW_SIDE;
}

static int on_create_window(hv_call *call, const window_server_create_window_req *req,
			    window_server_create_window_rep *rep)
{
	struct ws_client *cl = hv_call_state(call);
	if (find_window(cl, req->window_id, NULL))
		return hv_call_fail(call, -EEXIST, "window %d exists", req->window_id);
	if (!rect_ok(req->rect))
		return hv_call_fail(call, -EINVAL, "window size %dx%d out of range", req->rect.width,
				    req->rect.height);
	if (cl->n_windows >= WS_MAX_WINDOWS_PER_CLIENT) {
		hv_conn_misbehave(hv_call_conn(call), "more than %d windows", WS_MAX_WINDOWS_PER_CLIENT);
		return -EMFILE;
	}
	if (cl->n_windows == cl->cap_windows) {
		size_t cap = cl->cap_windows ? cl->cap_windows * 2 : 8;
		struct ws_window **t = reallocarray(cl->windows, cap, sizeof(*t));
		if (!t)
			return -ENOMEM;
		cl->windows = t;
		cl->cap_windows = cap;
	}
	struct ws_window *w = ws_window_new();
	if (!w)
		return -ENOMEM;
	w->owner = cl;
	w->client_id = cl->id;
	w->id = req->window_id;
	w->has_alpha = req->has_alpha_channel;
	w->frameless = req->frameless;
	w->minimizable = req->minimizable;
	w->resizable = req->resizable;
	w->rect = from_ipc(req->rect);
	w->prev_size = w->rect;
	int r = ws_window_set_title(&ws.comp, w, req->title);
	if (r < 0) {
		ws_window_free(w);
		return r;
	}
	cl->windows[cl->n_windows++] = w;
	ws_compositor_add(&ws.comp, w);
	ws_activate(w);
	ws_send_paint(w, NULL, 0);
	ws_schedule_frame();
	return 0;
}

static int on_destroy_window(hv_call *call, const window_server_destroy_window_req *req,
			     window_server_destroy_window_rep *rep)
{
	size_t i;
	struct ws_client *cl = hv_call_state(call);
	if (!find_window(cl, req->window_id, &i))
		return lookup(call, req->window_id, "destroy_window") ? 0 : -ENOENT;
	window_destroy(cl, i);
	ws_schedule_frame();
	return 0;
}

static int on_set_window_title(hv_call *call, const window_server_set_window_title_req *req,
			       window_server_set_window_title_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "set_window_title");
	if (!w)
		return -ENOENT;
	int r = ws_window_set_title(&ws.comp, w, req->title);
	ws_wm_state(w);
	ws_schedule_frame();
	return r;
}

static int on_get_window_title(hv_call *call, const window_server_get_window_title_req *req,
			       window_server_get_window_title_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "get_window_title");
	if (!w)
		return -ENOENT;
	rep->title = w->title;
	return 0;
}

static int on_set_window_rect(hv_call *call, const window_server_set_window_rect_req *req,
			      window_server_set_window_rect_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "set_window_rect");
	if (!w)
		return -ENOENT;
	if (req->rect.width <= 0 || req->rect.height <= 0)
		return hv_call_fail(call, -EINVAL, "empty rect");
	bool resized = req->rect.width != w->rect.width || req->rect.height != w->rect.height;
	ws_window_set_rect(&ws.comp, w, from_ipc(req->rect));
	w->maximized = false;
	rep->rect = to_ipc(w->rect);
	ws_wm_rect(w);
	if (resized) {
		window_client_window_resized(client_of(w)->conn, w->id, rep->rect);
		ws_send_paint(w, NULL, 0);
	}
	ws_schedule_frame();
	return 0;
}

static int on_get_window_rect(hv_call *call, const window_server_get_window_rect_req *req,
			      window_server_get_window_rect_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "get_window_rect");
	if (!w)
		return -ENOENT;
	rep->rect = to_ipc(w->rect);
	return 0;
}

static int on_set_window_has_alpha_channel(hv_call *call,
					   const window_server_set_window_has_alpha_channel_req *req,
					   window_server_set_window_has_alpha_channel_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "set_window_has_alpha_channel");
	if (!w)
		return -ENOENT;
	w->has_alpha = req->has_alpha_channel;
	ws_damage_window(&ws.comp, w);
	ws_schedule_frame();
	return 0;
}

/* The bitmap must be the window's size (or the size it had before its
 * last resize: the client may not have heard of it yet). */
static bool store_size_ok(const struct ws_window *w, const hv_bitmap *b)
{
	return ((int64_t)b->width == w->rect.width && (int64_t)b->height == w->rect.height) ||
	       ((int64_t)b->width == w->prev_size.width && (int64_t)b->height == w->prev_size.height);
}

static int on_set_window_backing_store(hv_call *call,
				       const window_server_set_window_backing_store_req *req,
				       window_server_set_window_backing_store_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "set_window_backing_store");
	if (!w)
		return -ENOENT;
	const hv_bitmap *b = &req->bitmap;
	const char *why = NULL;
	if (req->serial == w->current.serial) {
		/* The same buffer again: nothing to map. */
	} else if (req->serial == w->previous.serial && w->previous.width == b->width &&
		   w->previous.height == b->height) {
		ws_window_swap_stores(w); /* a double-buffered flip */
	} else if (b->buffer.fd < 0 || b->format == HV_PIXEL_RGBA8888 || !store_size_ok(w, b)) {
		why = b->buffer.fd < 0 ? "no buffer"
		      : b->format == HV_PIXEL_RGBA8888 ? "RGBA8888 (want BGRX8888 or BGRA8888)"
							: "bitmap size differs from the window's";
	} else {
		struct ws_store s;
		int r = ws_store_map(&s, b->buffer.fd, b->buffer.size, b->width, b->height, b->stride,
				     b->format == HV_PIXEL_BGRA8888, req->serial, &why);
		if (r < 0 && !why)
			return r;
		if (r >= 0) {
			hv_call_take_buffer(call, &b->buffer); /* the store owns the fd now */
			ws_window_push_store(w, &s);
		}
	}
	if (why) {
		hv_conn_misbehave(hv_call_conn(call), "window %d: bad backing store: %s", w->id, why);
		return -EBADMSG;
	}
	if (req->flush_immediately) {
		ws_damage_window_rect(&ws.comp, w, (struct ws_rect){0, 0, w->rect.width, w->rect.height});
		ws_schedule_frame();
	}
	return 0;
}

static int on_invalidate_rect(hv_call *call, const window_server_invalidate_rect_req *req)
{
	struct ws_window *w = lookup(call, req->window_id, "invalidate_rect");
	if (!w)
		return -EBADMSG;
	if (req->rects.count)
		ws_send_paint(w, req->rects.items, req->rects.count);
	return 0;
}

static int on_did_finish_painting(hv_call *call, const window_server_did_finish_painting_req *req)
{
	struct ws_window *w = lookup(call, req->window_id, "did_finish_painting");
	if (!w)
		return -EBADMSG;
	for (size_t i = 0; i < req->rects.count; i++)
		ws_damage_window_rect(&ws.comp, w, from_ipc(req->rects.items[i]));
	ws_schedule_frame();
	return 0;
}

static int on_move_window_to_front(hv_call *call, const window_server_move_window_to_front_req *req,
				   window_server_move_window_to_front_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "move_window_to_front");
	if (!w)
		return -ENOENT;
	if (w->minimized)
		ws_set_minimized(w, false);
	ws_activate(w);
	return 0;
}

static int on_set_window_minimized(hv_call *call, const window_server_set_window_minimized_req *req,
				   window_server_set_window_minimized_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "set_window_minimized");
	if (!w)
		return -ENOENT;
	ws_set_minimized(w, req->minimized);
	return 0;
}

static int on_set_window_maximized(hv_call *call, const window_server_set_window_maximized_req *req,
				   window_server_set_window_maximized_rep *rep)
{
	struct ws_window *w = lookup(call, req->window_id, "set_window_maximized");
	if (!w)
		return -ENOENT;
	if (!w->resizable)
		return hv_call_fail(call, -EPERM, "window %d is not resizable", w->id);
	ws_set_maximized(w, req->maximized);
	return 0;
}

static int on_set_system_theme(hv_call *call, const window_server_set_system_theme_req *req,
			       window_server_set_system_theme_rep *rep)
{
	int r = ws_switch_theme(req->theme_name);
	if (r == -ENOENT)
		return hv_call_fail(call, r, "no theme called \"%s\"", req->theme_name);
	return r;
}

static int on_get_system_theme(hv_call *call, const window_server_get_system_theme_req *req,
			       window_server_get_system_theme_rep *rep)
{
	const char **names = hv_call_calloc(call, ws.n_themes ? ws.n_themes : 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < ws.n_themes; i++)
		names[i] = ws.themes[i].name;
	rep->theme_name = ws.theme.name;
	rep->theme_names = (hv_vec_string){.items = names, .count = ws.n_themes};
	return 0;
}

static int on_enable_display_link(hv_call *call, const window_server_enable_display_link_req *req)
{
	struct ws_client *cl = hv_call_state(call);
	cl->display_link = true;
	ws_schedule_frame();
	return 0;
}

static int on_disable_display_link(hv_call *call, const window_server_disable_display_link_req *req)
{
	struct ws_client *cl = hv_call_state(call);
	cl->display_link = false;
	return 0;
}

static int on_get_screen_bitmap(hv_call *call, const window_server_get_screen_bitmap_req *req,
				window_server_get_screen_bitmap_rep *rep)
{
	ws_flush_now();
	_hv_cleanup_(hv_bitmap_release) hv_bitmap b = {.buffer = HV_BUFFER_EMPTY};
	int r = hv_bitmap_create((uint32_t)ws.comp.width, (uint32_t)ws.comp.height,
				 HV_PIXEL_BGRX8888, &b);
	if (r < 0)
		return r;
	memcpy(b.buffer.data, ws.comp.pixels, (size_t)ws.comp.width * ws.comp.height * 4);
	/* Sealed: the client gets a picture, not a way into our memory. */
	if ((r = hv_buffer_seal(&b.buffer)) < 0)
		return r;
	rep->bitmap = b;
	hv_call_hold(call);
	window_server_get_screen_bitmap_respond(call, rep);
	return HV_IPC_DEFERRED;
}

static int on_get_windows(hv_call *call, const window_server_get_windows_req *req,
			  window_server_get_windows_rep *rep)
{
	size_t n = 0;
	for (struct ws_window *w = ws.comp.top; w; w = w->below)
		n++;
	window_server_window_info *v = hv_call_calloc(call, n ? n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	uint32_t z = 0;
	for (struct ws_window *w = ws.comp.top; w; w = w->below, z++) {
		v[z] = (window_server_window_info){
			.client_id = w->client_id, .window_id = w->id, .title = w->title,
			.rect = to_ipc(w->rect), .frame_rect = to_ipc(ws_window_frame_rect(&ws.comp, w)),
			.active = ws.comp.active == w, .minimized = w->minimized,
			.maximized = w->maximized, .has_alpha_channel = w->has_alpha,
			.frameless = w->frameless, .z = z, .backing_serial = w->current.serial};
	}
	rep->windows = (hv_vec_window_server_window_info){.items = v, .count = n};
	return 0;
}

static int on_pong(hv_call *call, const window_server_pong_req *req)
{
	struct ws_client *cl = hv_call_state(call);
	cl->ping_pending = cl->unresponsive = false;
	return 0;
}

static int on_inject_mouse(hv_call *call, const window_server_inject_mouse_req *req,
			   window_server_inject_mouse_rep *rep)
{
	if (!ws.test_input)
		return hv_call_fail(call, -EPERM, "input injection is off (WindowServer --test-input)");
	ws_input_mouse(req->position.x, req->position.y, req->buttons, req->wheel_delta);
	return 0;
}

static int on_inject_key(hv_call *call, const window_server_inject_key_req *req,
			 window_server_inject_key_rep *rep)
{
	if (!ws.test_input)
		return hv_call_fail(call, -EPERM, "input injection is off (WindowServer --test-input)");
	ws_input_key(req->code_point, req->key, req->modifiers, req->down);
	return 0;
}

static int on_set_keymap(hv_call *call, const window_server_set_keymap_req *req,
			 window_server_set_keymap_rep *rep)
{
	/* Whoever sets the keymap decides what every key types: the session's
	 * own user (KeyboardPreferenceLoader) or root only. */
	uid_t peer = hv_call_peer(call)->uid;
	if (peer != 0 && peer != getuid())
		return hv_call_fail(call, -EPERM, "only uid %u may set the keymap", (unsigned)getuid());
	_hv_free_ char *why = NULL;
	int r = ws_keymap_set(req->name, req->keymap, req->num_lock, &why);
	if (r < 0)
		return hv_call_fail(call, r, "keymap %s: %s", req->name, why ? why : strerror(-r));
	return 0;
}

static int on_get_keymap(hv_call *call, const window_server_get_keymap_req *req,
			 window_server_get_keymap_rep *rep)
{
	rep->name = ws.input.keymap_name ? ws.input.keymap_name : "";
	return 0;
}

static int on_inject_scancode(hv_call *call, const window_server_inject_scancode_req *req,
			      window_server_inject_scancode_rep *rep)
{
	if (!ws.test_input)
		return hv_call_fail(call, -EPERM, "input injection is off (WindowServer --test-input)");
	if (!ws_input_keycode(req->scancode, req->down))
		return hv_call_fail(call, -ENOENT, "no keymap set (set_keymap)");
	return 0;
}

/* Every message's handler, in WindowServer.ipc's order (a missing one
 * does not compile). */
const window_server_handlers ws_handlers = WINDOW_SERVER_HANDLERS(
	on_greet, on_create_window, on_destroy_window, on_set_window_title, on_get_window_title,
	on_set_window_rect, on_get_window_rect, on_set_window_has_alpha_channel,
	on_set_window_backing_store, on_invalidate_rect, on_did_finish_painting,
	on_move_window_to_front, on_set_window_minimized, on_set_window_maximized,
	on_set_system_theme, on_get_system_theme, on_enable_display_link, on_disable_display_link,
	on_get_screen_bitmap, on_get_windows, on_pong, on_inject_mouse, on_inject_key, on_set_keymap,
	on_get_keymap, on_inject_scancode);
