/* window.h — the WindowServer client library: connect, open windows,
 * paint them through a Bitmap, hear their events. Every later GUI (the
 * Taskbar, a greeter, the Browser) builds on this; see ws-demo for a
 * whole program in ~100 lines. Its prefix is wsc_ (WindowServer client):
 * hv_ belongs to lib/, ws_ to the server, window_* to ipcc's stubs.
 *
 *	wsc_display *ws;
 *	wsc_connect(loop, NULL, &ws);              // the "window" portal
 *	wsc_window *w;
 *	wsc_window_create(ws, (hv_int_rect){40, 60, 320, 200}, "Hello", 0, &events, ud, &w);
 *	// in events.paint: paint the back buffer, then show it
 *	hv_bitmap *b = wsc_window_back(w);
 *	wsc_bitmap_fill(b, (hv_int_rect){0, 0, b->width, b->height}, 0xff3366cc);
 *	wsc_window_flip(w, rects, n);
 *
 * Each window is double-buffered: wsc_window_back() is the buffer to paint,
 * wsc_window_flip() hands it to the server (set_window_backing_store with
 * its serial, then did_finish_painting) and keeps the other buffer in
 * step, so a window repaints only what changed. Pixels are BGRX8888, or
 * BGRA8888 premultiplied for a window created with WSC_WINDOW_ALPHA.
 *
 * Functions return 0 or a negative errno (IPC failures as the generated
 * calls report them). A connection without a loop gets its events from
 * hv_conn_dispatch(wsc_conn(ws), timeout). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>

#include "WindowClient.ipc.h"
#include "WindowServer.ipc.h"

typedef struct wsc_display wsc_display;
typedef struct wsc_window wsc_window;

/* What a window hears; every member may be NULL. Positions are relative
 * to the window's content. `ud` is the window's userdata. */
typedef struct wsc_window_events {
	void (*paint)(wsc_window *w, const hv_int_rect *rects, size_t n, void *ud);
	void (*mouse_down)(wsc_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud);
	void (*mouse_up)(wsc_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud);
	void (*mouse_move)(wsc_window *w, hv_int_point p, uint32_t buttons, void *ud);
	void (*mouse_wheel)(wsc_window *w, hv_int_point p, int32_t delta, void *ud);
	void (*key)(wsc_window *w, uint32_t code_point, uint32_t key, uint32_t modifiers, bool down,
		    void *ud);
	void (*entered)(wsc_window *w, bool inside, void *ud);
	void (*activated)(wsc_window *w, bool active, void *ud);
	void (*state_changed)(wsc_window *w, bool minimized, bool maximized, bool occluded, void *ud);
	void (*close_request)(wsc_window *w, void *ud);
	void (*resized)(wsc_window *w, hv_int_rect rect, void *ud);
	void (*moved)(wsc_window *w, hv_int_rect rect, void *ud);
} wsc_window_events;

/* The WindowServer's portal name. */
#define WSC_PORTAL "window"

/* Connect to the WindowServer at path (NULL: the WSC_PORTAL portal). loop
 * may be NULL (see above). */
int wsc_connect(hv_loop *loop, const char *path, wsc_display **out);
void wsc_close(wsc_display *ws); /* destroys its windows */
hv_conn *wsc_conn(const wsc_display *ws);
hv_int_rect wsc_screen_rect(const wsc_display *ws);
int32_t wsc_client_id(const wsc_display *ws);
/* The theme changed (set_system_theme): its name and its INI text
 * ([Colors], [Metrics]), valid during the callback. */
void wsc_set_theme_callback(wsc_display *ws,
			      void (*cb)(wsc_display *ws, const char *name, const char *ini, size_t len,
					 void *ud),
			      void *ud);
/* display_link_notification events, once per frame while on. */
void wsc_set_display_link(wsc_display *ws, void (*cb)(wsc_display *ws, void *ud), void *ud);

enum {
	WSC_WINDOW_ALPHA = 1u << 0,	  /* translucent: BGRA8888 premultiplied */
	WSC_WINDOW_FRAMELESS = 1u << 1,	  /* no decorations */
	WSC_WINDOW_FIXED_SIZE = 1u << 2,	  /* no maximize */
	WSC_WINDOW_NO_MINIMIZE = 1u << 3,
};

/* A window whose content is rect (screen coordinates); the server asks
 * for its first paint at once. */
int wsc_window_create(wsc_display *ws, hv_int_rect rect, const char *title, unsigned flags,
		     const wsc_window_events *events, void *ud, wsc_window **out);
void wsc_window_destroy(wsc_window *w); /* NULL-safe */
int32_t wsc_window_id(const wsc_window *w);
hv_int_rect wsc_window_rect(const wsc_window *w);
int wsc_window_set_title(wsc_window *w, const char *title);
int wsc_window_set_rect(wsc_window *w, hv_int_rect rect);
/* The buffer to paint, of the window's current size (reallocated after a
 * resize); NULL on -ENOMEM. */
hv_bitmap *wsc_window_back(wsc_window *w);
/* Show the back buffer; rects (window coordinates; NULL: all) are what
 * changed since the last flip. */
int wsc_window_flip(wsc_window *w, const hv_int_rect *rects, size_t n);

/* Fill r of b with argb (straight alpha; stored premultiplied for BGRA). */
void wsc_bitmap_fill(hv_bitmap *b, hv_int_rect r, uint32_t argb);
