/* backend.h — where composed frames go. One interface, several screens:
 * `virtual` keeps the frame in memory only (CI, tests, get_screen_bitmap);
 * `vnc` and `x11` come next behind the same calls (docs/windowserver.md). */
#pragma once

#include <pixman.h>

#include <haven/loop.h>

struct ws_backend;

typedef struct ws_backend_ops {
	const char *name;
	/* Open the output for a width x height frame whose pixels live at
	 * `pixels` (x8r8g8b8, stride width * 4). */
	int (*open)(struct ws_backend *b, hv_loop *loop, int width, int height, uint32_t *pixels);
	/* The frame changed in `damage`: show it. */
	void (*flush)(struct ws_backend *b, const pixman_region32_t *damage);
	void (*close)(struct ws_backend *b);
} ws_backend_ops;

struct ws_backend {
	const ws_backend_ops *ops;
	void *priv;
	uint64_t flushes; /* frames flushed, for tests and the bench */
};

/* The backend called `name`; NULL if there is none. */
const ws_backend_ops *ws_backend_find(const char *name);
