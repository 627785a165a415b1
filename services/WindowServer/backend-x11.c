/* backend-x11.c — the `x11` backend: the screen as a window under an X
 * server, so a person can run the desktop inside their own. The frame is
 * shared with the X server, not copied: the compositor's memfd is
 * attached with MIT-SHM (xcb_shm_attach_fd) and each flush's damaged
 * rects are put from it. X's pointer, buttons and keys come back as
 * input; an expose repaints; closing the window ends the service. The X
 * connection is a watch on the service's loop. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xcb/shm.h>
#include <xcb/xcb.h>

#include <haven/log.h>

#include "backend.h"

struct x11 {
	struct ws_backend *b;
	xcb_connection_t *conn;
	xcb_window_t window;
	xcb_gcontext_t gc;
	xcb_shm_seg_t seg;
	uint8_t depth;
	int width, height;
	hv_watch *watch;
	xcb_atom_t wm_delete;
	uint32_t buttons, modifiers;
	/* Keyboard mapping: keysyms_per_code keysyms for each keycode from min_code. */
	xcb_keysym_t *keysyms;
	int min_code, n_codes, per_code;
};

static xcb_atom_t atom(xcb_connection_t *c, const char *name)
{
	xcb_intern_atom_reply_t *r =
		xcb_intern_atom_reply(c, xcb_intern_atom(c, 0, (uint16_t)strlen(name), name), NULL);
	xcb_atom_t a = r ? r->atom : XCB_NONE;
	free(r);
	return a;
}

static void load_keymap(struct x11 *x)
{
	const xcb_setup_t *setup = xcb_get_setup(x->conn);
	x->min_code = setup->min_keycode;
	x->n_codes = setup->max_keycode - setup->min_keycode + 1;
	xcb_get_keyboard_mapping_reply_t *r = xcb_get_keyboard_mapping_reply(
		x->conn, xcb_get_keyboard_mapping(x->conn, setup->min_keycode, (uint8_t)x->n_codes), NULL);
	if (!r)
		return;
	int n = xcb_get_keyboard_mapping_keysyms_length(r);
	x->keysyms = malloc((size_t)n * sizeof(xcb_keysym_t));
	if (x->keysyms) {
		memcpy(x->keysyms, xcb_get_keyboard_mapping_keysyms(r), (size_t)n * sizeof(xcb_keysym_t));
		x->per_code = r->keysyms_per_keycode;
	}
	free(r);
}

/* The keysym of a keycode, shifted or not (no xkb yet: see the docs). */
static uint32_t keysym_of(struct x11 *x, xcb_keycode_t code, bool shift)
{
	int i = code - x->min_code;
	if (!x->keysyms || i < 0 || i >= x->n_codes || x->per_code < 1)
		return 0;
	xcb_keysym_t base = x->keysyms[i * x->per_code];
	xcb_keysym_t shifted = x->per_code > 1 ? x->keysyms[i * x->per_code + 1] : 0;
	return shift && shifted ? shifted : base;
}

/* X buttons 1 left, 2 middle, 3 right, 4/5 wheel; SerenityOS's 1, 4, 2. */
static uint32_t button_bit(uint8_t detail)
{
	return detail == 1 ? 1u : detail == 2 ? 4u : detail == 3 ? 2u : 0;
}

static void handle_event(struct x11 *x, xcb_generic_event_t *ev)
{
	const ws_input_sink *in = &x->b->input;
	switch (ev->response_type & 0x7f) {
	case XCB_EXPOSE: {
		xcb_expose_event_t *e = (xcb_expose_event_t *)ev;
		if (in->expose)
			in->expose(e->x, e->y, e->width, e->height);
		break;
	}
	case XCB_MOTION_NOTIFY: {
		xcb_motion_notify_event_t *e = (xcb_motion_notify_event_t *)ev;
		if (in->pointer)
			in->pointer(e->event_x, e->event_y, x->buttons, 0);
		break;
	}
	case XCB_BUTTON_PRESS:
	case XCB_BUTTON_RELEASE: {
		xcb_button_press_event_t *e = (xcb_button_press_event_t *)ev;
		bool press = (ev->response_type & 0x7f) == XCB_BUTTON_PRESS;
		int32_t wheel = 0;
		if (e->detail == 4 || e->detail == 5)
			wheel = press ? (e->detail == 4 ? -1 : 1) : 0;
		else
			x->buttons = press ? x->buttons | button_bit(e->detail)
					   : x->buttons & ~button_bit(e->detail);
		if (in->pointer && (wheel || (e->detail != 4 && e->detail != 5)))
			in->pointer(e->event_x, e->event_y, x->buttons, wheel);
		break;
	}
	case XCB_KEY_PRESS:
	case XCB_KEY_RELEASE: {
		xcb_key_press_event_t *e = (xcb_key_press_event_t *)ev;
		bool down = (ev->response_type & 0x7f) == XCB_KEY_PRESS;
		/* With a keymap set (set_keymap), the server translates. */
		if (in->keycode && e->detail >= 8 && in->keycode(e->detail - 8u, down))
			break;
		uint32_t sym = keysym_of(x, e->detail, x->modifiers & 4);
		uint32_t m = ws_keysym_modifier(sym);
		if (m)
			x->modifiers = down ? x->modifiers | m : x->modifiers & ~m;
		if (in->key)
			in->key(ws_keysym_code_point(sym), sym, x->modifiers, down);
		break;
	}
	case XCB_CLIENT_MESSAGE: {
		xcb_client_message_event_t *e = (xcb_client_message_event_t *)ev;
		if (e->data.data32[0] == x->wm_delete && in->closed)
			in->closed();
		break;
	}
	default:
		break;
	}
}

static void on_x(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	struct x11 *x = ud;
	xcb_generic_event_t *ev;
	while ((ev = xcb_poll_for_event(x->conn))) {
		handle_event(x, ev);
		free(ev);
	}
	if (xcb_connection_has_error(x->conn)) {
		hv_log_error("x11: the X server went away");
		hv_watch_free(x->watch);
		x->watch = NULL;
		if (x->b->input.closed)
			x->b->input.closed();
	}
}

static int create_window(struct x11 *x)
{
	xcb_screen_t *screen = xcb_setup_roots_iterator(xcb_get_setup(x->conn)).data;
	if (screen->root_depth != 24 && screen->root_depth != 32) {
		hv_log_error("x11: the screen's depth is %d; 24 or 32 is needed", screen->root_depth);
		return -ENOTSUP;
	}
	x->depth = screen->root_depth;
	x->window = xcb_generate_id(x->conn);
	uint32_t mask = XCB_CW_BACK_PIXEL | XCB_CW_EVENT_MASK;
	uint32_t values[] = {screen->black_pixel,
			     XCB_EVENT_MASK_EXPOSURE | XCB_EVENT_MASK_BUTTON_PRESS |
				     XCB_EVENT_MASK_BUTTON_RELEASE | XCB_EVENT_MASK_POINTER_MOTION |
				     XCB_EVENT_MASK_KEY_PRESS | XCB_EVENT_MASK_KEY_RELEASE};
	xcb_create_window(x->conn, XCB_COPY_FROM_PARENT, x->window, screen->root, 0, 0,
			  (uint16_t)x->width, (uint16_t)x->height, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT,
			  screen->root_visual, mask, values);
	static const char title[] = "Haven";
	xcb_change_property(x->conn, XCB_PROP_MODE_REPLACE, x->window, XCB_ATOM_WM_NAME,
			    XCB_ATOM_STRING, 8, sizeof(title) - 1, title);
	xcb_atom_t protocols = atom(x->conn, "WM_PROTOCOLS");
	x->wm_delete = atom(x->conn, "WM_DELETE_WINDOW");
	xcb_change_property(x->conn, XCB_PROP_MODE_REPLACE, x->window, protocols, XCB_ATOM_ATOM, 32, 1,
			    &x->wm_delete);
	x->gc = xcb_generate_id(x->conn);
	xcb_create_gc(x->conn, x->gc, x->window, 0, NULL);
	xcb_map_window(x->conn, x->window);
	return 0;
}

/* MIT-SHM with fd passing (1.2): the X server maps the frame itself. */
static int attach_frame(struct x11 *x, int pixels_fd)
{
	xcb_shm_query_version_reply_t *v =
		xcb_shm_query_version_reply(x->conn, xcb_shm_query_version(x->conn), NULL);
	bool ok = v && (v->major_version > 1 || (v->major_version == 1 && v->minor_version >= 2));
	free(v);
	if (!ok) {
		hv_log_error("x11: the X server has no MIT-SHM 1.2 (fd passing)");
		return -ENOTSUP;
	}
	int fd = dup(pixels_fd); /* xcb closes what it sends */
	if (fd < 0)
		return -errno;
	x->seg = xcb_generate_id(x->conn);
	xcb_generic_error_t *err =
		xcb_request_check(x->conn, xcb_shm_attach_fd_checked(x->conn, x->seg, fd, 1));
	if (err) {
		hv_log_error("x11: MIT-SHM refused the frame (X error %d)", err->error_code);
		free(err);
		return -EIO;
	}
	return 0;
}

static int x11_open(struct ws_backend *b, hv_loop *loop, int width, int height, uint32_t *pixels,
		    int pixels_fd)
{
	struct x11 *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	*x = (struct x11){.b = b, .width = width, .height = height};
	b->priv = x;
	x->conn = xcb_connect(b->x11_display, NULL);
	if (xcb_connection_has_error(x->conn)) {
		hv_log_error("x11: cannot connect to the X display %s",
			     b->x11_display ? b->x11_display : "$DISPLAY");
		return -ECONNREFUSED;
	}
	int r = create_window(x);
	if (r >= 0)
		r = attach_frame(x, pixels_fd);
	if (r < 0)
		return r;
	load_keymap(x);
	xcb_flush(x->conn);
	return hv_loop_add_fd(loop, xcb_get_file_descriptor(x->conn), HV_IO_READ, on_x, x, &x->watch);
}

static void x11_flush(struct ws_backend *b, const pixman_region32_t *damage)
{
	struct x11 *x = b->priv;
	int n = 0;
	const pixman_box32_t *box = pixman_region32_rectangles((pixman_region32_t *)damage, &n);
	for (int i = 0; i < n; i++) {
		uint16_t w = (uint16_t)(box[i].x2 - box[i].x1), h = (uint16_t)(box[i].y2 - box[i].y1);
		xcb_shm_put_image(x->conn, x->window, x->gc, (uint16_t)x->width, (uint16_t)x->height,
				  (uint16_t)box[i].x1, (uint16_t)box[i].y1, w, h, (int16_t)box[i].x1,
				  (int16_t)box[i].y1, x->depth, XCB_IMAGE_FORMAT_Z_PIXMAP, 0, x->seg, 0);
	}
	xcb_flush(x->conn);
	b->flushes++;
}

static void x11_close(struct ws_backend *b)
{
	struct x11 *x = b->priv;
	if (!x)
		return;
	hv_watch_free(x->watch);
	if (x->conn)
		xcb_disconnect(x->conn);
	free(x->keysyms);
	free(x);
	b->priv = NULL;
}

const ws_backend_ops ws_backend_x11 = {
	.name = "x11",
	.open = x11_open,
	.flush = x11_flush,
	.close = x11_close,
};
