/* backend.c — the screen backends by name. `virtual`: the composed frame
 * in memory is the screen; a flush only counts. `vnc`: backend-vnc.c. */
#include <string.h>

#include "backend.h"

static int virtual_open(struct ws_backend *b, hv_loop *loop, int width, int height,
			uint32_t *pixels)
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
	return NULL;
}
