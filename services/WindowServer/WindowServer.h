/* WindowServer.h — the service's state, shared by its handlers
 * (WindowServer.c), input routing (input.c) and main.c. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/options.h>

#include "WindowClient.ipc.h"
#include "WindowManagerClient.ipc.h"
#include "WindowManagerServer.ipc.h"
#include "WindowServer.ipc.h"
#include "backend.h"
#include "compositor.h"
#include "font.h"
#include "theme.h"

/* Windows one client may have; creating more ends its connection (a flood
 * of windows costs the flooder, nobody else). */
#define WS_MAX_WINDOWS_PER_CLIENT 256
/* Rects in one invalidate_rect / did_finish_painting. */
#define WS_MAX_RECTS_PER_MESSAGE 1024
/* A ping every this often; a client that has not answered the previous
 * one by then is shown as not responding. */
#define WS_PING_INTERVAL_NS (5ull * 1000000000ull)

/* Themes the server can switch between (loaded before the sandbox). */
#define WS_MAX_THEMES 64

/* Mouse buttons, as SerenityOS numbers them. */
enum { WS_BUTTON_LEFT = 1, WS_BUTTON_RIGHT = 2, WS_BUTTON_MIDDLE = 4 };

/* One connected client (the connection's state). */
struct ws_client {
	hv_conn *conn;
	int32_t id;
	struct ws_window **windows;
	size_t n_windows, cap_windows;
	bool display_link;
	uint32_t wm_mask; /* WindowManagerServer.set_event_mask: hears every window */
	bool ping_pending, unresponsive;
};

/* Pointer and keyboard state (input.c). */
struct ws_input {
	int x, y;
	uint32_t buttons;
	struct ws_window *hovered;  /* content under the pointer (enter/leave) */
	struct ws_window *captured; /* got the button press: gets the release */
	struct ws_window *dragged;  /* moved by its title bar */
	int drag_dx, drag_dy;	    /* pointer minus window position */
	struct ws_window *pressed;  /* a title button held down */
	enum ws_part pressed_part;
	struct ws_window *resized;  /* resized by its border */
	unsigned resize_edges;	    /* WS_EDGE_* being dragged */
	struct ws_rect resize_from; /* its rect when the drag began */
	int resize_x0, resize_y0;   /* the pointer then */
	struct ws_window *last_title_click; /* for double-click maximize */
	uint64_t last_title_click_ns;
	/* The keymap key codes are translated with (keymap.c); NULL: none. */
	struct xkb_keymap *keymap;
	struct xkb_state *xkb;
	char *keymap_name;
};

enum { WS_EDGE_LEFT = 1, WS_EDGE_RIGHT = 2, WS_EDGE_TOP = 4, WS_EDGE_BOTTOM = 8 };
/* Two presses on a title bar this close together maximize (or restore). */
#define WS_DOUBLE_CLICK_NS (400ull * 1000000ull)
/* The smallest content a border drag leaves. */
#define WS_MIN_RESIZE 16

struct ws_server {
	hv_loop *loop;
	hv_server *srv;
	ws_compositor comp;
	struct ws_theme theme; /* in effect (the compositor's) */
	struct ws_theme themes[WS_MAX_THEMES];
	size_t n_themes;
	struct ws_font *font;
	struct ws_backend backend;
	hv_timer *frame_timer, *ping_timer;
	uint64_t last_frame_ns;
	int32_t next_client_id;
	bool test_input;
	struct ws_input input;
};

extern struct ws_server ws;
extern const window_server_handlers ws_handlers;
extern const window_manager_server_handlers ws_wm_handlers;

int ws_client_init(hv_conn *c, void *state);
void ws_client_fini(hv_conn *c, void *state);

/* The frame clock: a timer armed when there is damage (or a display link). */
int ws_start_clock(hv_loop *loop);
/* Something changed on screen: make sure a frame is coming. */
void ws_schedule_frame(void);
/* Compose what is damaged now and flush it (get_screen_bitmap, frames). */
void ws_flush_now(void);

/* Themes: add one to the list (replacing one of the same name; -ENOSPC
 * past WS_MAX_THEMES); switch to one by name (-ENOENT), telling every
 * client. */
int ws_add_theme(const struct ws_theme *t);
int ws_switch_theme(const char *name);

/* Window state changes that clients hear about (WindowServer.c). */
void ws_activate(struct ws_window *w);
void ws_set_minimized(struct ws_window *w, bool minimized);
void ws_set_maximized(struct ws_window *w, bool maximized);
void ws_notify_moved(struct ws_window *w);
void ws_notify_resized(struct ws_window *w); /* window_resized and a paint */
void ws_send_paint(struct ws_window *w, const hv_int_rect *rects, size_t n);

/* The window manager's channel (wm.c): tell every subscribed client. */
void ws_wm_state(struct ws_window *w); /* NULL-safe */
void ws_wm_rect(struct ws_window *w);
void ws_wm_removed(struct ws_window *w);

/* Input (input.c). */
void ws_input_mouse(int x, int y, uint32_t buttons, int32_t wheel);
void ws_input_key(uint32_t code_point, uint32_t key, uint32_t modifiers, bool down);
/* A key by its Linux key code, translated with the keymap into what
 * ws_input_key takes. false (nothing done) while no keymap is set. */
bool ws_input_keycode(uint32_t code, bool down);
/* A window is going away: forget every reference to it. */
void ws_input_forget(struct ws_window *w);

/* The keymap (keymap.c): compile `text` (an XKB keymap) and use it from
 * now on, with Num Lock on when num_lock. -EINVAL with xkbcommon's reason
 * in *why (malloc'd) when it does not compile: the old one stays. */
int ws_keymap_set(const char *name, const char *text, bool num_lock, char **why);
void ws_keymap_free(void);

/* The process around the handlers (process.c): option values and table,
 * and main.c's service hooks. */
struct ws_options {
	const char *backend, *theme, *theme_dir, *font, *vnc_listen, *x11_display;
	int width, height;
	bool test_input;
	int64_t vnc_port;
};
extern struct ws_options ws_opts;
extern const hv_option ws_options[];
int ws_parse_size(const char *arg, void *target);
int ws_setup(hv_server *srv);
void ws_teardown(int code);
const char *ws_promises(void); /* the promises the chosen backend needs */
