/* backend.c — the screen backends by name. `virtual`: the composed frame
 * in memory is the screen; a flush only counts. `vnc`: backend-vnc.c,
 * `x11`: backend-x11.c. */
#include <string.h>

#include "backend.h"

static int virtual_open(struct ws_backend *b, hv_loop *loop, int width, int height,
			uint32_t *pixels, int pixels_fd)
{
	return 0;
}

static void virtual_flush(struct ws_backend *b, const pixman_region32_t *damage)
{
	b->flushes++;
}

static void virtual_close(struct ws_backend *b)
{
}

static const ws_backend_ops virtual_ops = {
	.name = "virtual",
	.open = virtual_open,
	.flush = virtual_flush,
	.close = virtual_close,
};

const ws_backend_ops *ws_backend_find(const char *name)
{
	if (!strcmp(name, virtual_ops.name))
		return &virtual_ops;
	if (!strcmp(name, ws_backend_vnc.name))
		return &ws_backend_vnc;
	if (!strcmp(name, ws_backend_x11.name))
		return &ws_backend_x11;
	return NULL;
}

/* X keysyms, which VNC shares. */
uint32_t ws_keysym_modifier(uint32_t k)
{
	switch (k) {
	case 0xffe9: case 0xffea: return 1; /* Alt */
	case 0xffe3: case 0xffe4: return 2; /* Control */
	case 0xffe1: case 0xffe2: return 4; /* Shift */
	case 0xffeb: case 0xffec: return 8; /* Super */
	default: return 0;
	}
}

uint32_t ws_keysym_code_point(uint32_t k)
{
	if ((k >= 0x20 && k <= 0x7e) || (k >= 0xa0 && k <= 0xff))
		return k; /* Latin-1 keysyms are their code points */
	if ((k & 0xff000000u) == 0x01000000u)
		return k & 0x00ffffffu; /* Unicode keysyms */
	switch (k) {
	case 0xff08: return '\b';
	case 0xff09: return '\t';
	case 0xff0d: return '\r';
	case 0xff1b: return 0x1b;
	case 0xffff: return 0x7f;
	default: return 0;
	}
}
