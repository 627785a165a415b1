/* window.h — the WindowServer client library: connect, open windows,
 * paint them through a Bitmap, hear their events. Every later GUI (the
 * Taskbar, a greeter, the Browser) builds on this; see ws-demo for a
 * whole program in ~100 lines.
 *
 *	hv_ws *ws;
 *	hv_ws_connect(loop, NULL, &ws);              // the "window" portal
 *	hv_window *w;
 *	hv_window_create(ws, (hv_int_rect){40, 60, 320, 200}, "Hello", 0, &events, ud, &w);
 *	// in events.paint: paint the back buffer, then show it
 *	hv_bitmap *b = hv_window_back(w);
 *	hv_bitmap_fill(b, (hv_int_rect){0, 0, b->width, b->height}, 0xff3366cc);
 *	hv_window_flip(w, rects, n);
 *
 * Each window is double-buffered: hv_window_back() is the buffer to paint,
 * hv_window_flip() hands it to the server (set_window_backing_store with
 * its serial, then did_finish_painting) and keeps the other buffer in
 * step, so a window repaints only what changed. Pixels are BGRX8888, or
 * BGRA8888 premultiplied for a window created with HV_WINDOW_ALPHA.
 *
 * Functions return 0 or a negative errno (IPC failures as the generated
 * calls report them). A connection without a loop gets its events from
 * hv_conn_dispatch(hv_ws_conn(ws), timeout). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>

#include "WindowClient.ipc.h"
#include "WindowServer.ipc.h"

typedef struct hv_ws hv_ws;
typedef struct hv_window hv_window;

/* What a window hears; every member may be NULL. Positions are relative
 * to the window's content. `ud` is the window's userdata. */
typedef struct hv_window_events {
	void (*paint)(hv_window *w, const hv_int_rect *rects, size_t n, void *ud);
	void (*mouse_down)(hv_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud);
	void (*mouse_up)(hv_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud);
	void (*mouse_move)(hv_window *w, hv_int_point p, uint32_t buttons, void *ud);
	void (*mouse_wheel)(hv_window *w, hv_int_point p, int32_t delta, void *ud);
	void (*key)(hv_window *w, uint32_t code_point, uint32_t key, uint32_t modifiers, bool down,
		    void *ud);
	void (*entered)(hv_window *w, bool inside, void *ud);
	void (*activated)(hv_window *w, bool active, void *ud);
	void (*state_changed)(hv_window *w, bool minimized, bool maximized, bool occluded, void *ud);
	void (*close_request)(hv_window *w, void *ud);
	void (*resized)(hv_window *w, hv_int_rect rect, void *ud);
	void (*moved)(hv_window *w, hv_int_rect rect, void *ud);
} hv_window_events;

/* Connect to the WindowServer at path (NULL: the "window" portal). loop
 * may be NULL (see above). */
int hv_ws_connect(hv_loop *loop, const char *path, hv_ws **out);
void hv_ws_close(hv_ws *ws); /* destroys its windows */
hv_conn *hv_ws_conn(const hv_ws *ws);
hv_int_rect hv_ws_screen_rect(const hv_ws *ws);
int32_t hv_ws_client_id(const hv_ws *ws);
/* The theme changed (set_system_theme): its name and its INI text
 * ([Colors], [Metrics]), valid during the callback. */
void hv_ws_set_theme_callback(hv_ws *ws,
			      void (*cb)(hv_ws *ws, const char *name, const char *ini, size_t len,
					 void *ud),
			      void *ud);
/* display_link_notification events, once per frame while on. */
void hv_ws_set_display_link(hv_ws *ws, void (*cb)(hv_ws *ws, void *ud), void *ud);

enum {
	HV_WINDOW_ALPHA = 1u << 0,	  /* translucent: BGRA8888 premultiplied */
	HV_WINDOW_FRAMELESS = 1u << 1,	  /* no decorations */
	HV_WINDOW_FIXED_SIZE = 1u << 2,	  /* no maximize */
	HV_WINDOW_NO_MINIMIZE = 1u << 3,
};

/* A window whose content is rect (screen coordinates); the server asks
 * for its first paint at once. */
int hv_window_create(hv_ws *ws, hv_int_rect rect, const char *title, unsigned flags,
		     const hv_window_events *events, void *ud, hv_window **out);
void hv_window_destroy(hv_window *w); /* NULL-safe */
int32_t hv_window_id(const hv_window *w);
hv_int_rect hv_window_rect(const hv_window *w);
int hv_window_set_title(hv_window *w, const char *title);
int hv_window_set_rect(hv_window *w, hv_int_rect rect);
/* The buffer to paint, of the window's current size (reallocated after a
 * resize); NULL on -ENOMEM. */
hv_bitmap *hv_window_back(hv_window *w);
/* Show the back buffer; rects (window coordinates; NULL: all) are what
 * changed since the last flip. */
int hv_window_flip(hv_window *w, const hv_int_rect *rects, size_t n);

/* Fill r of b with argb (straight alpha; stored premultiplied for BGRA). */
void hv_bitmap_fill(hv_bitmap *b, hv_int_rect r, uint32_t argb);
