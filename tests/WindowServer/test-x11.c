/* test-x11.c — the x11 backend under Xvfb: the WindowServer's X window
 * shows exactly what get_screen_bitmap shows (read back with GetImage),
 * also after a partial repaint; X input (XTEST: a click, a key, a
 * title-bar drag) reaches the windows; an expose repaints.
 *
 * Usage: test-x11 Xvfb WindowServer THEME.ini */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xcb/xcb.h>
#include <xcb/xtest.h>

#include "check.h"
#include "service.h"
#include "window.h"

#define W 320
#define H 240

static pid_t xvfb;

/* Xvfb on a display it picks (-displayfd), ready when it answers. */
static void start_xvfb(const char *exe, char *display, size_t size)
{
	int p[2];
	REQUIRE(pipe(p) == 0);
	xvfb = fork();
	REQUIRE(xvfb >= 0);
	if (xvfb == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", p[1]);
		freopen("/dev/null", "w", stderr);
		execl(exe, exe, "-displayfd", fd, "-screen", "0", "640x480x24", "-nolisten", "tcp",
		      (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* Up to the newline: Xvfb writes the number and "\n" apart, and dies
	 * if the second write finds the pipe closed. */
	char buf[16] = {0};
	size_t n = 0;
	while (n < sizeof(buf) - 1 && !strchr(buf, '\n')) {
		ssize_t k = read(p[0], buf + n, sizeof(buf) - 1 - n);
		REQUIRE(k > 0);
		n += (size_t)k;
	}
	close(p[0]);
	snprintf(display, size, ":%d", atoi(buf));
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
	wsc_bitmap_fill(b, (hv_int_rect){10, 10, 20, 20}, 0xffffffff);
	CHECK_EQ(wsc_window_flip(w, NULL, 0), 0);
	paints++;
}

static void on_down(wsc_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud)
{
	downs++;
	down_at = p;
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

/* --- X ------------------------------------------------------------------- */
static xcb_connection_t *x;
static xcb_window_t root, haven;
static wsc_display *ws;

/* The top-level window called "Haven". */
static xcb_window_t find_haven(void)
{
	for (int tries = 0; tries < 500; tries++) {
		xcb_query_tree_reply_t *t = xcb_query_tree_reply(x, xcb_query_tree(x, root), NULL);
		REQUIRE(t);
		xcb_window_t *kids = xcb_query_tree_children(t), found = 0;
		for (int i = 0; i < xcb_query_tree_children_length(t) && !found; i++) {
			xcb_get_property_reply_t *p = xcb_get_property_reply(
				x, xcb_get_property(x, 0, kids[i], XCB_ATOM_WM_NAME, XCB_ATOM_STRING, 0, 16),
				NULL);
			if (p && xcb_get_property_value_length(p) == 5 &&
			    !memcmp(xcb_get_property_value(p), "Haven", 5))
				found = kids[i];
			free(p);
		}
		free(t);
		if (found)
			return found;
		poll(NULL, 0, 10);
	}
	REQUIRE(!"no Haven window on the X display");
	return 0;
}

/* Pixels where the X window and the screen differ. */
static int differences(void)
{
	hv_bitmap b;
	REQUIRE_EQ(window_server_get_screen_bitmap(wsc_conn(ws), &b), 0);
	xcb_get_image_reply_t *img = xcb_get_image_reply(
		x, xcb_get_image(x, XCB_IMAGE_FORMAT_Z_PIXMAP, haven, 0, 0, W, H, ~0u), NULL);
	REQUIRE(img);
	REQUIRE_EQ(xcb_get_image_data_length(img), W * H * 4);
	const uint32_t *xp = (const uint32_t *)xcb_get_image_data(img);
	int bad = 0;
	for (int y = 0; y < H; y++) {
		const uint32_t *s = (const uint32_t *)((const uint8_t *)b.buffer.data + (size_t)y * b.stride);
		for (int i = 0; i < W; i++)
			bad += (s[i] & 0xffffff) != (xp[y * W + i] & 0xffffff);
	}
	free(img);
	hv_bitmap_release(&b);
	return bad;
}

static void expect_same(const char *what)
{
	int bad = -1;
	for (int i = 0; i < 200 && bad; i++) {
		hv_conn_dispatch(wsc_conn(ws), 10);
		bad = differences();
	}
	CHECK_MSG(bad == 0, "%s: the X window differs from the screen in %d pixels", what, bad);
}

static void pump_until(int *counter, int want)
{
	for (int i = 0; i < 500 && *counter < want; i++)
		hv_conn_dispatch(wsc_conn(ws), 10);
	CHECK_MSG(*counter >= want, "waited in vain for an event (%d of %d)", *counter, want);
}

static void fake(uint8_t type, uint8_t detail, int px, int py)
{
	xcb_test_fake_input(x, type, detail, XCB_CURRENT_TIME, root, (int16_t)px, (int16_t)py, 0);
	xcb_flush(x);
}

static uint8_t keycode_of(xcb_keysym_t sym)
{
	const xcb_setup_t *s = xcb_get_setup(x);
	int n = s->max_keycode - s->min_keycode + 1;
	xcb_get_keyboard_mapping_reply_t *r = xcb_get_keyboard_mapping_reply(
		x, xcb_get_keyboard_mapping(x, s->min_keycode, (uint8_t)n), NULL);
	REQUIRE(r);
	xcb_keysym_t *syms = xcb_get_keyboard_mapping_keysyms(r);
	uint8_t code = 0;
	for (int i = 0; i < n && !code; i++)
		if (syms[i * r->keysyms_per_keycode] == sym)
			code = (uint8_t)(s->min_keycode + i);
	free(r);
	return code;
}

int main(int argc, char **argv)
{
	REQUIRE_EQ(argc, 4);
	signal(SIGPIPE, SIG_IGN);
	char display[32];
	start_xvfb(argv[1], display, sizeof(display));
	x = xcb_connect(display, NULL);
	REQUIRE(!xcb_connection_has_error(x));
	root = xcb_setup_roots_iterator(xcb_get_setup(x)).data->root;

	svc_fixture fx;
	const char *args[] = {"--backend", "x11", "--x11-display", display, "--size", "320x240",
			      "--theme", argv[3], NULL};
	svc_start(&fx, argv[2], "window", args);
	REQUIRE_EQ(wsc_connect(NULL, fx.sock, &ws), 0);
	hv_conn_set_timeout(wsc_conn(ws), 30000);
	haven = find_haven();
	wsc_window *w = NULL;
	REQUIRE_EQ(wsc_window_create(ws, (hv_int_rect){40, 50, 120, 80}, "x11", 0, &events, NULL, &w), 0);
	pump_until(&paints, 1);
	expect_same("first frame");

	color = 0xffc04020;
	hv_int_rect part = {50, 20, 40, 30};
	wsc_bitmap_fill(wsc_window_back(w), part, color);
	CHECK_EQ(wsc_window_flip(w, &part, 1), 0);
	expect_same("after a partial repaint");

	/* X input: a click in the content, a key, a title-bar drag. */
	fake(XCB_MOTION_NOTIFY, 0, 60, 70);
	fake(XCB_BUTTON_PRESS, 1, 60, 70);
	fake(XCB_BUTTON_RELEASE, 1, 60, 70);
	pump_until(&downs, 1);
	CHECK(down_at.x == 20 && down_at.y == 20);
	uint8_t q = keycode_of('q');
	REQUIRE(q);
	fake(XCB_KEY_PRESS, q, 0, 0);
	fake(XCB_KEY_RELEASE, q, 0, 0);
	pump_until(&keys, 1);
	CHECK_EQ(key_cp, 'q');
	fake(XCB_MOTION_NOTIFY, 0, 80, 40);
	fake(XCB_BUTTON_PRESS, 1, 80, 40);
	fake(XCB_MOTION_NOTIFY, 0, 130, 90);
	fake(XCB_BUTTON_RELEASE, 1, 130, 90);
	pump_until(&moved, 1);
	hv_int_rect r;
	CHECK_EQ(window_server_get_window_rect(wsc_conn(ws), wsc_window_id(w), &r), 0);
	CHECK(r.x == 90 && r.y == 100);
	expect_same("after a drag");

	/* Unmapped and mapped again, the X window is repainted (exposes). */
	xcb_unmap_window(x, haven);
	xcb_map_window(x, haven);
	xcb_flush(x);
	expect_same("after an expose");

	wsc_close(ws);
	svc_stop(&fx);
	xcb_disconnect(x);
	kill(xvfb, SIGTERM);
	waitpid(xvfb, NULL, 0);
	return check_result();
}
