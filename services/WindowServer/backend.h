/* backend.h — where composed frames go. One interface, several screens:
 * `virtual` keeps the frame in memory only (CI, tests, get_screen_bitmap);
 * `vnc` serves the frame to VNC viewers (libvncserver) and takes their
 * pointer and keys; `x11` shows it in a window under an X server (XCB,
 * MIT-SHM) and takes X's input (docs/windowserver.md). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

#include <haven/loop.h>

struct ws_backend;

typedef struct ws_backend_ops {
	const char *name;
	/* Open the output for a width x height frame whose pixels live at
	 * `pixels` (x8r8g8b8, stride width * 4), a mapping of the memfd
	 * pixels_fd (for outputs that share it, as X11's MIT-SHM does). */
	int (*open)(struct ws_backend *b, hv_loop *loop, int width, int height, uint32_t *pixels,
		    int pixels_fd);
	/* The frame changed in `damage`: show it. */
	void (*flush)(struct ws_backend *b, const pixman_region32_t *damage);
	void (*close)(struct ws_backend *b);
} ws_backend_ops;

/* Input a backend's device reports, in screen coordinates; buttons as
 * SerenityOS numbers them (1 left, 2 right, 4 middle); modifiers 1 Alt,
 * 2 Ctrl, 4 Shift, 8 Super. */
typedef struct ws_input_sink {
	void (*pointer)(int x, int y, uint32_t buttons, int32_t wheel);
	void (*key)(uint32_t code_point, uint32_t key, uint32_t modifiers, bool down);
	/* A key by its Linux key code (X11's keycode minus 8), for the
	 * server's keymap; false when it has none (then `key` is used). */
	bool (*keycode)(uint32_t code, bool down);
	/* The output lost this part of the frame (an X expose): show it again. */
	void (*expose)(int x, int y, int width, int height);
	/* The person closed the output (the X window): end the service. */
	void (*closed)(void);
} ws_input_sink;

struct ws_backend {
	const ws_backend_ops *ops;
	void *priv;
	ws_input_sink input;
	/* vnc: where it listens (an IPv4 address, default 127.0.0.1) and on
	 * which TCP port (default 5900). */
	const char *vnc_listen;
	int vnc_port;
	/* x11: the display (NULL: $DISPLAY). */
	const char *x11_display;
	uint64_t flushes; /* frames flushed, for tests and the bench */
};

extern const ws_backend_ops ws_backend_vnc, ws_backend_x11;

/* X keysyms (VNC uses them too): the modifier a key is (1 Alt, 2 Ctrl,
 * 4 Shift, 8 Super; 0 none), the character it types (0 none). */
uint32_t ws_keysym_modifier(uint32_t keysym);
uint32_t ws_keysym_code_point(uint32_t keysym);

/* The backend called `name`; NULL if there is none. */
const ws_backend_ops *ws_backend_find(const char *name);
