/* compositor.h — WindowServer's screen: windows in stacking order, their
 * decorations, damage, and the composition of clients' backing stores on
 * pixman. Knows nothing of IPC: the service (WindowServer.c, input.c)
 * drives it, and bench/WindowServer runs it alone.
 *
 * A frame composes only the damaged region. Windows are visited top-down
 * once to give each the part of the damage it shows (an opaque window
 * removes its rect from what lies below, so every pixel covered by opaque
 * windows is written exactly once); then painted bottom-up, opaque parts
 * with SRC and only windows that declare an alpha channel with OVER.
 * Backing stores are the clients' shared memory, mapped read-only: the
 * server holds no copy of any client's pixels, and decorations are drawn
 * straight into the screen (no per-window pixel memory at all). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>

#include "theme.h"

/* Largest window content, per side: a client cannot make the server
 * allocate or walk more than this. */
#define WS_MAX_WINDOW_SIDE 8192
/* The frame clock: one composition per 16.67 ms at most. */
#define WS_FRAME_NS 16666667ull

struct ws_rect {
	int32_t x, y, width, height;
};

/* A backing store: a client's Bitmap, mapped read-only (ws_store_map). */
struct ws_store {
	int fd; /* -1: none */
	void *data;
	size_t size;
	int32_t serial;
	uint32_t width, height, stride;
	bool has_alpha;
	pixman_image_t *image;
};

/* Where a point falls in a window (ws_hit_test). */
enum ws_part {
	WS_PART_NONE = 0,
	WS_PART_CONTENT,
	WS_PART_TITLE,
	WS_PART_BORDER,
	WS_PART_CLOSE,
	WS_PART_MAXIMIZE,
	WS_PART_MINIMIZE,
};

struct ws_glyph_run;

struct ws_window {
	void *owner;	   /* the service's client (NULL in the bench) */
	int32_t client_id; /* for listings */
	int32_t id;	   /* the client's window id */
	char *title;
	struct ws_glyph_run *title_run; /* shaped once per title change */
	struct ws_rect rect;		/* content, screen coordinates */
	struct ws_rect restore_rect;	/* before maximize */
	struct ws_rect prev_size;	/* size before the last resize (store race) */
	bool has_alpha, frameless, minimizable, resizable;
	bool minimized, maximized;
	enum ws_part pressed; /* a title button held down */
	struct ws_store current, previous;
	struct ws_window *above, *below; /* stacking: compositor's list */
	/* Composition scratch, kept to avoid reallocation every frame. */
	pixman_region32_t clip_frame, clip_content;
	bool visited;
};

struct ws_font;
struct ws_cursor;

typedef struct ws_compositor {
	int width, height;
	uint32_t *pixels; /* x8r8g8b8, width * height: a mapping of pixels_fd */
	int pixels_fd;	  /* a memfd, so an output can share the frame (MIT-SHM) */
	pixman_image_t *screen;
	pixman_region32_t damage;
	struct ws_window *top, *bottom;
	struct ws_window *active;
	const struct ws_theme *theme;
	struct ws_font *font; /* NULL: titles not drawn */
	/* Software cursor, drawn over the composed frame. */
	pixman_image_t *cursor;
	int cursor_x, cursor_y;
	bool cursor_visible;
	struct ws_rect cursor_drawn; /* width 0: not on screen */
	/* Bench: paint every window bottom-up with OVER, no culling. */
	bool naive;
	uint64_t frames;
	uint64_t pixels_written; /* by window content, for the bench */
} ws_compositor;

int ws_compositor_init(ws_compositor *c, int width, int height, const struct ws_theme *theme,
		       struct ws_font *font);
void ws_compositor_fini(ws_compositor *c);
/* A new theme (metrics too): everything is damaged. */
void ws_compositor_set_theme(ws_compositor *c, const struct ws_theme *theme);

/* Windows. ws_window_new gives a zeroed window with regions ready;
 * ws_compositor_add puts it on top (not active). */
struct ws_window *ws_window_new(void);
void ws_window_free(struct ws_window *w); /* releases its stores */
void ws_compositor_add(ws_compositor *c, struct ws_window *w);
void ws_compositor_remove(ws_compositor *c, struct ws_window *w); /* damages its frame */
void ws_compositor_raise(ws_compositor *c, struct ws_window *w);
/* Make w the active window (raised); NULL: none. Returns the previously
 * active window. */
struct ws_window *ws_compositor_activate(ws_compositor *c, struct ws_window *w);
/* The topmost visible window, other than `except`. */
struct ws_window *ws_compositor_topmost(ws_compositor *c, const struct ws_window *except);
int ws_window_set_title(ws_compositor *c, struct ws_window *w, const char *title);
/* Move/resize the content rect (clamped to WS_MAX_WINDOW_SIDE); damages
 * both places. */
void ws_window_set_rect(ws_compositor *c, struct ws_window *w, struct ws_rect r);
void ws_window_set_minimized(ws_compositor *c, struct ws_window *w, bool minimized);
void ws_window_set_maximized(ws_compositor *c, struct ws_window *w, bool maximized);

/* Geometry of the decorations from the theme's metrics. */
struct ws_rect ws_window_frame_rect(const ws_compositor *c, const struct ws_window *w);
struct ws_rect ws_window_title_rect(const ws_compositor *c, const struct ws_window *w);
struct ws_rect ws_window_button_rect(const ws_compositor *c, const struct ws_window *w,
				     enum ws_part button);
/* The visible window at (x, y) and which part of it; NULL if none. */
struct ws_window *ws_hit_test(ws_compositor *c, int x, int y, enum ws_part *part);

/* Backing stores. ws_store_map verifies a received memfd (sealed against
 * shrinking and growing, exactly `size` bytes, stride a multiple of 4 and
 * width * 4 <= stride, stride * height <= size) and maps it read-only; it
 * takes fd on success. -EBADMSG with *why set when the client lied. */
int ws_store_map(struct ws_store *s, int fd, size_t size, uint32_t width, uint32_t height,
		 uint32_t stride, bool has_alpha, int32_t serial, const char **why);
void ws_store_release(struct ws_store *s);
/* Install a new current store; the current one becomes the previous. */
void ws_window_push_store(struct ws_window *w, struct ws_store *s);
/* Flip to the previous store (its serial came back). */
void ws_window_swap_stores(struct ws_window *w);

/* Damage, in screen coordinates. */
void ws_damage_rect(ws_compositor *c, struct ws_rect r);
void ws_damage_window(ws_compositor *c, const struct ws_window *w); /* frame included */
/* rects in window (content) coordinates, clipped to the content. */
void ws_damage_window_rect(ws_compositor *c, const struct ws_window *w, struct ws_rect r);
bool ws_has_damage(const ws_compositor *c);

/* Move the cursor (damages its old and new place); shows it. */
void ws_cursor_move(ws_compositor *c, int x, int y);
void ws_cursor_show(ws_compositor *c, bool visible);

/* Compose the damaged region and draw the cursor; the region composed is
 * left in *flushed (initialised by the caller) for the backend, then the
 * damage is empty. */
void ws_compose(ws_compositor *c, pixman_region32_t *flushed);

/* Whether any part of w is visible (not minimized, not covered by opaque
 * windows above it, on the screen). */
bool ws_window_occluded(ws_compositor *c, const struct ws_window *w);
