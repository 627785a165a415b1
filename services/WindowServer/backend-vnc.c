/* backend-vnc.c — the `vnc` backend: libvncserver serves the composed
 * frame (the compositor's own pixels, never copied) to VNC viewers, each
 * flush's damage becomes RFB updates, and viewers' pointer and keys come
 * back as input. Driven by the service's loop: the listening socket and
 * every viewer's socket are loop watches that run rfbProcessEvents(),
 * without a thread. Listens on 127.0.0.1 unless told otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include <rfb/rfb.h>

#include <haven/log.h>

#include "backend.h"

struct vnc {
	struct ws_backend *b;
	rfbScreenInfoPtr screen;
	hv_loop *loop;
	hv_watch *listen;
	int last_mask;	    /* VNC button mask of the previous pointer event */
	uint32_t modifiers; /* held modifier keys */
};

/* libvncserver's log lines into ours. */
static void vnc_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hv_logv(HV_LOG_DEBUG, fmt, ap);
	va_end(ap);
}

static void vnc_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	hv_logv(HV_LOG_WARN, fmt, ap);
	va_end(ap);
}

static void on_io(hv_loop *loop, int fd, uint32_t events, void *ud)
{
	struct vnc *v = ud;
	rfbProcessEvents(v->screen, 0);
}

static void client_gone(rfbClientPtr cl)
{
	hv_watch_free(cl->clientData);
	cl->clientData = NULL;
}

static enum rfbNewClientAction new_client(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	hv_watch *w = NULL;
	if (hv_loop_add_fd(v->loop, cl->sock, HV_IO_READ, on_io, v, &w) < 0)
		return RFB_CLIENT_REFUSE;
	cl->clientData = w;
	cl->clientGoneHook = client_gone;
	hv_log_info("vnc: a viewer connected (%s)", cl->host ? cl->host : "?");
	return RFB_CLIENT_ACCEPT;
}

/* VNC: bit 0 left, 1 middle, 2 right, 3/4 wheel up/down. */
static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	uint32_t buttons = (mask & 1 ? 1u : 0) | (mask & 4 ? 2u : 0) | (mask & 2 ? 4u : 0);
	int pressed = mask & ~v->last_mask;
	int32_t wheel = pressed & 8 ? -1 : pressed & 16 ? 1 : 0;
	v->last_mask = mask;
	if (v->b->input.pointer)
		v->b->input.pointer(x, y, buttons, wheel);
}

static void on_key(rfbBool down, rfbKeySym k, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	uint32_t m = ws_keysym_modifier((uint32_t)k);
	if (m)
		v->modifiers = down ? v->modifiers | m : v->modifiers & ~m;
	if (v->b->input.key)
		v->b->input.key(ws_keysym_code_point((uint32_t)k), (uint32_t)k, v->modifiers, down);
}

static int vnc_open(struct ws_backend *b, hv_loop *loop, int width, int height, uint32_t *pixels,
		    int pixels_fd)
{
	rfbLog = vnc_log;
	rfbErr = vnc_err;
	struct vnc *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	rfbScreenInfoPtr s = rfbGetScreen(NULL, NULL, width, height, 8, 3, 4);
	if (!s) {
		free(v);
		return -ENOMEM;
	}
	*v = (struct vnc){.b = b, .screen = s, .loop = loop};
	b->priv = v;
	/* The compositor's x8r8g8b8: B, G, R, X bytes in memory. */
	s->frameBuffer = (char *)pixels;
	s->serverFormat.redShift = 16;
	s->serverFormat.greenShift = 8;
	s->serverFormat.blueShift = 0;
	s->screenData = v;
	s->desktopName = "Haven";
	s->alwaysShared = TRUE;
	s->deferUpdateTime = 0; /* the frame clock already paces updates */
	s->cursor = NULL;	/* the cursor is in the frame */
	s->newClientHook = new_client;
	s->ptrAddEvent = on_pointer;
	s->kbdAddEvent = on_key;
	s->port = b->vnc_port ? b->vnc_port : 5900;
	s->ipv6port = 0;
	if (inet_pton(AF_INET, b->vnc_listen ? b->vnc_listen : "127.0.0.1", &s->listenInterface) != 1) {
		hv_log_error("vnc: '%s' is not an IPv4 address", b->vnc_listen);
		return -EINVAL;
	}
	rfbInitServer(s);
	if (s->listenSock == RFB_INVALID_SOCKET) {
		hv_log_error("vnc: cannot listen on %s:%d", b->vnc_listen ? b->vnc_listen : "127.0.0.1",
			     s->port);
		return -EADDRINUSE;
	}
	int r = hv_loop_add_fd(loop, s->listenSock, HV_IO_READ, on_io, v, &v->listen);
	if (r < 0)
		return r;
	hv_log_info("vnc: listening on %s:%d", b->vnc_listen ? b->vnc_listen : "127.0.0.1", s->port);
	return 0;
}

static void vnc_flush(struct ws_backend *b, const pixman_region32_t *damage)
{
	struct vnc *v = b->priv;
	int n = 0;
	const pixman_box32_t *box = pixman_region32_rectangles((pixman_region32_t *)damage, &n);
	for (int i = 0; i < n; i++)
		rfbMarkRectAsModified(v->screen, box[i].x1, box[i].y1, box[i].x2, box[i].y2);
	/* Send now to every viewer that asked. */
	if (n)
		rfbProcessEvents(v->screen, 0);
	b->flushes++;
}

static void vnc_close(struct ws_backend *b)
{
	struct vnc *v = b->priv;
	if (!v)
		return;
	hv_watch_free(v->listen);
	rfbShutdownServer(v->screen, TRUE);
	v->screen->frameBuffer = NULL;
	rfbScreenCleanup(v->screen);
	free(v);
	b->priv = NULL;
}

const ws_backend_ops ws_backend_vnc = {
	.name = "vnc",
	.open = vnc_open,
	.flush = vnc_flush,
	.close = vnc_close,
};
