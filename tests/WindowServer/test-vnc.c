/* test-vnc.c — the vnc backend seen by a VNC viewer (libvncclient): the
 * frame it receives is the screen get_screen_bitmap shows, pixel for
 * pixel, also after a window repaints (damage sent as RFB updates); the
 * viewer's click reaches the window under it, its drag moves a window by
 * the title bar, its keys reach the active window. Nothing listens
 * anywhere but 127.0.0.1.
 *
 * Usage: test-vnc WindowServer THEME.ini */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rfb/rfbclient.h>

#include "check.h"
#include "service.h"
#include "window.h"

#define W 320
#define H 240

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void quiet(const char *fmt, ...)
{
}

/* --- the window ---------------------------------------------------------- */
static uint32_t color = 0xff2080c0;
static int paints, downs, keys, moved;
static hv_int_point down_at;
static uint32_t key_cp;

static void on_paint(wsc_window *w, const hv_int_rect *rects, size_t n, void *ud)
{
	hv_bitmap *b = wsc_window_back(w);
	REQUIRE(b);
	wsc_bitmap_fill(b, (hv_int_rect){0, 0, (int32_t)b->width, (int32_t)b->height}, color);
	wsc_bitmap_fill(b, (hv_int_rect){10, 10, 20, 20}, 0xffffffff); /* a mark inside */
	CHECK_EQ(wsc_window_flip(w, NULL, 0), 0);
	paints++;
}

static void on_down(wsc_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud)
{
	downs++;
	down_at = p;
	CHECK_EQ(button, 1);
}

static void on_key(wsc_window *w, uint32_t cp, uint32_t key, uint32_t mods, bool down, void *ud)
{
	if (down) {
		keys++;
		key_cp = cp;
	}
}

static void on_moved(wsc_window *w, hv_int_rect r, void *ud)
{
	moved++;
}

static const wsc_window_events events = {
	.paint = on_paint, .mouse_down = on_down, .key = on_key, .moved = on_moved};

/* --- comparing ----------------------------------------------------------- */
static wsc_display *ws;
static rfbClient *vnc;

static void pump_vnc(int ms)
{
	for (int i = 0; i < ms / 10; i++)
		if (WaitForMessage(vnc, 10000) > 0)
			REQUIRE(HandleRFBServerMessage(vnc));
}

/* Pixels where the viewer's frame and the screen differ. */
static int differences(void)
{
	hv_bitmap b;
	REQUIRE_EQ(window_server_get_screen_bitmap(wsc_conn(ws), &b), 0);
	int bad = 0;
	for (int y = 0; y < H; y++) {
		const uint32_t *s = (const uint32_t *)((const uint8_t *)b.buffer.data + (size_t)y * b.stride);
		const uint32_t *v = (const uint32_t *)vnc->frameBuffer + (size_t)y * W;
		for (int x = 0; x < W; x++)
			bad += (s[x] & 0xffffff) != (v[x] & 0xffffff);
	}
	hv_bitmap_release(&b);
	return bad;
}

/* The viewer catches up with the screen (updates arrive as it changes). */
static void expect_same(const char *what)
{
	int bad = -1;
	for (int i = 0; i < 300 && bad; i++) {
		pump_vnc(20);
		hv_conn_dispatch(wsc_conn(ws), 0);
		bad = differences();
	}
	CHECK_MSG(bad == 0, "%s: the viewer's frame differs from the screen in %d pixels", what, bad);
}

static void pump_ws_until(int *counter, int want)
{
	for (int i = 0; i < 500 && *counter < want; i++) {
		hv_conn_dispatch(wsc_conn(ws), 10);
		pump_vnc(0);
	}
	CHECK_MSG(*counter >= want, "waited in vain for an event (%d of %d)", *counter, want);
}

int main(int argc, char **argv)
{
	REQUIRE_EQ(argc, 3);
	signal(SIGPIPE, SIG_IGN);
	int port = free_port();
	char port_s[16];
	snprintf(port_s, sizeof(port_s), "%d", port);
	svc_fixture fx;
	const char *args[] = {"--backend", "vnc", "--vnc-port", port_s, "--size", "320x240",
			      "--theme", argv[2], NULL};
	svc_start(&fx, argv[1], "window", args);

	REQUIRE_EQ(wsc_connect(NULL, fx.sock, &ws), 0); /* the service is up once this answers */
	hv_conn_set_timeout(wsc_conn(ws), 30000);
	wsc_window *w = NULL;
	REQUIRE_EQ(wsc_window_create(ws, (hv_int_rect){40, 50, 120, 80}, "vnc", 0, &events, NULL, &w), 0);
	pump_ws_until(&paints, 1);

	rfbClientLog = rfbClientErr = quiet;
	vnc = rfbGetClient(8, 3, 4);
	REQUIRE(vnc);
	/* The server's own layout (B, G, R, X in memory): compared as words. */
	vnc->format.redShift = 16;
	vnc->format.greenShift = 8;
	vnc->format.blueShift = 0;
	vnc->appData.encodingsString = "raw";
	free(vnc->serverHost); /* rfbGetClient's "" */
	vnc->serverHost = strdup("127.0.0.1");
	vnc->serverPort = port;
	REQUIRE(rfbInitClient(vnc, NULL, NULL)); /* frees vnc on failure */
	CHECK(vnc->width == W && vnc->height == H);
	expect_same("first frame");

	/* A repaint: only the damage travels, and the viewer agrees again. */
	color = 0xffc04020;
	hv_int_rect part = {50, 20, 40, 30};
	hv_bitmap *b = wsc_window_back(w);
	wsc_bitmap_fill(b, part, color);
	CHECK_EQ(wsc_window_flip(w, &part, 1), 0);
	expect_same("after a partial repaint");

	/* The viewer's click in the content, its keys, its title-bar drag. */
	SendPointerEvent(vnc, 60, 70, 0);
	SendPointerEvent(vnc, 60, 70, rfbButton1Mask);
	SendPointerEvent(vnc, 60, 70, 0);
	pump_ws_until(&downs, 1);
	CHECK(down_at.x == 20 && down_at.y == 20);
	SendKeyEvent(vnc, 'q', TRUE);
	SendKeyEvent(vnc, 'q', FALSE);
	pump_ws_until(&keys, 1);
	CHECK_EQ(key_cp, 'q');
	SendPointerEvent(vnc, 80, 40, rfbButton1Mask);
	SendPointerEvent(vnc, 130, 90, rfbButton1Mask);
	SendPointerEvent(vnc, 130, 90, 0);
	pump_ws_until(&moved, 1);
	hv_int_rect r;
	CHECK_EQ(window_server_get_window_rect(wsc_conn(ws), wsc_window_id(w), &r), 0);
	CHECK(r.x == 90 && r.y == 100);
	expect_same("after a drag (cursor included)");

	free(vnc->frameBuffer); /* the default MallocFrameBuffer's: ours to free */
	rfbClientCleanup(vnc);
	wsc_close(ws);
	svc_stop(&fx);
	return check_result();
}
