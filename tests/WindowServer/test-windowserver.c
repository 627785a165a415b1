/* test-windowserver.c — WindowServer headless, pixels compared.
 *
 * The service runs as SystemServer would start it (tests/lib/service.h) on
 * the virtual backend at 640x480 with tests/WindowServer/test-theme.ini.
 * Clients open windows through the client library and paint known
 * patterns; every screenshot (get_screen_bitmap) is compared with a
 * reference this test computes from the same geometry: exact everywhere
 * except title text and button glyphs (skipped; the text must be there)
 * and blended pixels of translucent windows (within 1 of pixman's
 * rounding). Then injected input (clicks, drags, keys) and hostile clients,
 * each of which must be dropped alone while the screen keeps updating.
 *
 * Usage: test-windowserver WindowServer THEME.ini
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "service.h"
#include "WindowManagerClient.ipc.h"
#include "WindowManagerServer.ipc.h"
#include "window.h"

#define W 640
#define H 480

/* The values of the theme in effect: test-theme.ini's, or Other's (the
 * theme the test writes into --theme-dir and switches to). */
struct theme_values {
	uint32_t desktop, active_border, active_title, inactive_border, inactive_title, window, button;
	int title, border, button_w, button_h;
};
static const struct theme_values test_theme = {0x102030, 0xc00000, 0xe0a000, 0x606060, 0x909090,
					       0xff00ff, 0xc0c0c0, 20, 3, 14, 14};
static const struct theme_values other_theme = {0x203010, 0x0000c0, 0x00a0e0, 0x505050, 0xa0a0a0,
						0x00ffff, 0xb0b0b0, 24, 5, 16, 16};
static const char other_ini[] =
	"[Colors]\nDesktopBackground=#203010\nActiveWindowBorder1=#0000c0\n"
	"ActiveWindowTitleBar=#00a0e0\nInactiveWindowBorder1=#505050\n"
	"InactiveWindowTitleBar=#a0a0a0\nWindow=#00ffff\nButton=#b0b0b0\n"
	"[Metrics]\nTitleHeight=24\nBorderThickness=5\nTitleButtonWidth=16\nTitleButtonHeight=16\n";
static struct theme_values th; /* the theme in effect: test_theme from main() */

static const char *exe, *theme;

/* --- test windows -------------------------------------------------------- */
struct tw {
	wsc_display *ws;
	wsc_window *w;
	hv_int_rect rect;
	uint32_t base;	/* rgb of the pattern */
	uint8_t alpha;	/* 255 unless translucent */
	int paints, closes, downs, ups, moves, keys, activations, deactivations, moved, entered, resized;
	hv_int_point last_down;
	uint32_t last_key;
};

/* The pattern: 8x8 checks of base and base ^ 0x404040, so a window drawn
 * one pixel off shows. */
static uint32_t pattern(const struct tw *t, int x, int y)
{
	return ((x >> 3) ^ (y >> 3)) & 1 ? t->base : t->base ^ 0x404040;
}

static void paint_all(struct tw *t, const hv_int_rect *rects, size_t n)
{
	hv_bitmap *b = wsc_window_back(t->w);
	REQUIRE(b);
	for (size_t i = 0; i < n; i++)
		for (int y = rects[i].y; y < rects[i].y + rects[i].height && y < (int)b->height; y++)
			for (int x = rects[i].x; x < rects[i].x + rects[i].width && x < (int)b->width; x++)
				wsc_bitmap_fill(b, (hv_int_rect){x, y, 1, 1},
					       (uint32_t)t->alpha << 24 | pattern(t, x, y));
	CHECK_EQ(wsc_window_flip(t->w, rects, n), 0);
}

static void on_paint(wsc_window *w, const hv_int_rect *rects, size_t n, void *ud)
{
	struct tw *t = ud;
	t->paints++;
	paint_all(t, rects, n);
}

static void on_down(wsc_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud)
{
	struct tw *t = ud;
	t->downs++;
	t->last_down = p;
}

static void on_up(wsc_window *w, hv_int_point p, uint32_t button, uint32_t buttons, void *ud)
{
	((struct tw *)ud)->ups++;
}

static void on_key(wsc_window *w, uint32_t cp, uint32_t key, uint32_t mods, bool down, void *ud)
{
	struct tw *t = ud;
	if (down) {
		t->keys++;
		t->last_key = cp;
	}
}

static void on_activated(wsc_window *w, bool active, void *ud)
{
	struct tw *t = ud;
	if (active)
		t->activations++;
	else
		t->deactivations++;
}

static void on_close(wsc_window *w, void *ud)
{
	((struct tw *)ud)->closes++;
}

static void on_moved(wsc_window *w, hv_int_rect r, void *ud)
{
	struct tw *t = ud;
	t->moved++;
	t->rect = r;
}

static void on_resized(wsc_window *w, hv_int_rect r, void *ud)
{
	struct tw *t = ud;
	t->resized++;
	t->rect = r;
}

static void on_entered(wsc_window *w, bool inside, void *ud)
{
	((struct tw *)ud)->entered += inside ? 1 : -1;
}

static const wsc_window_events events = {
	.paint = on_paint, .mouse_down = on_down, .mouse_up = on_up, .key = on_key,
	.activated = on_activated, .close_request = on_close, .moved = on_moved,
	.entered = on_entered, .resized = on_resized,
};

static svc_fixture fx;

static wsc_display *connect_ws(void)
{
	wsc_display *ws = NULL;
	REQUIRE_EQ(wsc_connect(NULL, fx.sock, &ws), 0);
	hv_conn_set_timeout(wsc_conn(ws), 30000);
	return ws;
}

/* Dispatch t's events until cond holds (or 5 s). */
#define PUMP_UNTIL(ws, cond)                                                                       \
	do {                                                                                       \
		for (int _i = 0; _i < 500 && !(cond); _i++)                                        \
			hv_conn_dispatch(wsc_conn(ws), 10);                                      \
		CHECK_MSG(cond, "waited in vain for %s", #cond);                                   \
	} while (0)

static void open_window(struct tw *t, wsc_display *ws, hv_int_rect r, uint32_t base, uint8_t alpha,
			const char *title)
{
	*t = (struct tw){.ws = ws, .rect = r, .base = base, .alpha = alpha};
	REQUIRE_EQ(wsc_window_create(ws, r, title, alpha != 255 ? WSC_WINDOW_ALPHA : 0, &events, t,
				    &t->w),
		   0);
	PUMP_UNTIL(ws, t->paints >= 1);
}

/* A round trip: everything this client sent before has been handled. */
static void sync_ws(wsc_display *ws)
{
	hv_int_rect r;
	int32_t id;
	CHECK_EQ(window_server_greet(wsc_conn(ws), &r, &id), 0);
}

/* --- references ---------------------------------------------------------- */
enum { SKIP = 0, EXACT = 1, NEAR = 2 };

struct ref {
	uint32_t px[W * H];
	uint8_t mask[W * H];
};

static void ref_set(struct ref *r, int x, int y, uint32_t rgb, uint8_t mask)
{
	if (x >= 0 && y >= 0 && x < W && y < H) {
		r->px[y * W + x] = rgb & 0xffffff;
		r->mask[y * W + x] = mask;
	}
}

static void ref_fill(struct ref *r, hv_int_rect rc, uint32_t rgb, uint8_t mask)
{
	for (int y = rc.y; y < rc.y + rc.height; y++)
		for (int x = rc.x; x < rc.x + rc.width; x++)
			ref_set(r, x, y, rgb, mask);
}

static void ref_init(struct ref *r)
{
	ref_fill(r, (hv_int_rect){0, 0, W, H}, th.desktop, EXACT);
}

/* pixman's OVER on 8 bits: s + d * (255 - a) / 255, rounded. */
static uint8_t over(uint8_t s, uint8_t d, uint8_t a)
{
	unsigned t = d * (255u - a) + 0x80;
	return (uint8_t)(s + ((t + (t >> 8)) >> 8));
}

static void ref_window(struct ref *r, const struct tw *t, bool active)
{
	hv_int_rect c = t->rect;
	int b = th.border, ti = th.title;
	/* The frame around the content (not under it: a translucent window
	 * shows what is below). */
	uint32_t bc = active ? th.active_border : th.inactive_border;
	ref_fill(r, (hv_int_rect){c.x - b, c.y - ti - b, c.width + 2 * b, ti + b}, bc, EXACT);
	ref_fill(r, (hv_int_rect){c.x - b, c.y + c.height, c.width + 2 * b, b}, bc, EXACT);
	ref_fill(r, (hv_int_rect){c.x - b, c.y, b, c.height}, bc, EXACT);
	ref_fill(r, (hv_int_rect){c.x + c.width, c.y, b, c.height}, bc, EXACT);
	/* Title bar: text and buttons skipped, the bar between them exact. */
	ref_fill(r, (hv_int_rect){c.x, c.y - ti, c.width, ti}, active ? th.active_title : th.inactive_title,
		 SKIP);
	int strip_end = c.x + c.width - 2 - 3 * (th.button_w + 2);
	ref_fill(r, (hv_int_rect){c.x + 60, c.y - ti, strip_end - (c.x + 60), ti},
		 active ? th.active_title : th.inactive_title, EXACT);
	/* The close button's corner is outside its glyph. */
	int bx = c.x + c.width - 2 - th.button_w, by = c.y - ti + (ti - th.button_h) / 2;
	ref_set(r, bx, by, th.button, EXACT);
	for (int y = 0; y < c.height; y++) {
		for (int x = 0; x < c.width; x++) {
			uint32_t p = pattern(t, x, y);
			if (t->alpha == 255) {
				ref_set(r, c.x + x, c.y + y, p, EXACT);
				continue;
			}
			int sx = c.x + x, sy = c.y + y;
			if (sx < 0 || sy < 0 || sx >= W || sy >= H)
				continue;
			uint32_t d = r->px[sy * W + sx], o = 0;
			for (int sh = 0; sh < 24; sh += 8) {
				uint8_t s = (uint8_t)(((p >> sh) & 0xff) * t->alpha / 255);
				o |= (uint32_t)over(s, (uint8_t)(d >> sh), t->alpha) << sh;
			}
			ref_set(r, sx, sy, o, NEAR);
		}
	}
}

static void screenshot(wsc_display *ws, hv_bitmap *out)
{
	REQUIRE_EQ(window_server_get_screen_bitmap(wsc_conn(ws), out), 0);
	REQUIRE_EQ(out->width, W);
	REQUIRE_EQ(out->height, H);
	REQUIRE(out->buffer.readonly);
}

static uint32_t shot_px(const hv_bitmap *b, int x, int y)
{
	return *(const uint32_t *)((const uint8_t *)b->buffer.data + (size_t)y * b->stride +
				   (size_t)x * 4) & 0xffffff;
}

static int diff8(uint32_t a, uint32_t b, int sh)
{
	return abs((int)((a >> sh) & 0xff) - (int)((b >> sh) & 0xff));
}

/* Mismatching pixels of the screen against r (the first few printed). */
static int compare(wsc_display *ws, const struct ref *r, const char *what)
{
	hv_bitmap b;
	screenshot(ws, &b);
	int bad = 0;
	for (int y = 0; y < H; y++) {
		for (int x = 0; x < W; x++) {
			uint8_t m = r->mask[y * W + x];
			uint32_t want = r->px[y * W + x], got = shot_px(&b, x, y);
			int tol = m == NEAR ? 1 : 0;
			if (m == SKIP || (diff8(want, got, 0) <= tol && diff8(want, got, 8) <= tol &&
					  diff8(want, got, 16) <= tol))
				continue;
			if (bad++ < 5)
				fprintf(stderr, "%s: pixel %d,%d is %06x, expected %06x\n", what, x, y, got,
					want);
		}
	}
	hv_bitmap_release(&b);
	CHECK_MSG(bad == 0, "%s: %d pixels differ from the reference", what, bad);
	return bad;
}

/* Some pixel of the title text is there (neither bar nor button colour). */
static bool has_title_text(wsc_display *ws, const struct tw *t, bool active)
{
	hv_bitmap b;
	screenshot(ws, &b);
	int n = 0;
	for (int y = t->rect.y - th.title; y < t->rect.y; y++)
		for (int x = t->rect.x; x < t->rect.x + 40; x++)
			n += shot_px(&b, x, y) != (active ? th.active_title : th.inactive_title);
	hv_bitmap_release(&b);
	return n > 10;
}

/* --- tests --------------------------------------------------------------- */
static wsc_display *ws1, *ws2;
static struct tw a, b;

static void expect_ab(struct ref *r, bool a_on_top)
{
	ref_init(r);
	if (a_on_top) {
		ref_window(r, &b, false);
		ref_window(r, &a, true);
	} else {
		ref_window(r, &a, false);
		ref_window(r, &b, true);
	}
}

static struct ref ref;

/* Two clients, a window each, overlapping: the second is on top, active;
 * then the first is brought to the front. */
static bool dropped(hv_conn *c);

static void test_stacking(void)
{
	ws1 = connect_ws();
	ws2 = connect_ws();
	CHECK(wsc_client_id(ws1) != wsc_client_id(ws2));
	hv_int_rect scr = wsc_screen_rect(ws1);
	CHECK(scr.width == W && scr.height == H);
	open_window(&a, ws1, (hv_int_rect){40, 60, 220, 140}, 0xc04020, 255, "A");
	open_window(&b, ws2, (hv_int_rect){180, 130, 240, 160}, 0x2080c0, 255, "B");
	sync_ws(ws1);
	PUMP_UNTIL(ws1, a.deactivations == 1);
	expect_ab(&ref, false);
	compare(ws1, &ref, "two windows, B on top");
	CHECK(has_title_text(ws1, &b, true));

	CHECK_EQ(window_server_move_window_to_front(wsc_conn(ws1), wsc_window_id(a.w)), 0);
	expect_ab(&ref, true);
	compare(ws1, &ref, "A brought to the front");
	PUMP_UNTIL(ws2, b.deactivations == 1);

	hv_vec_window_server_window_info v;
	REQUIRE_EQ(window_server_get_windows(wsc_conn(ws1), &v), 0);
	REQUIRE_EQ(v.count, 2);
	CHECK_STR(v.items[0].title, "A");
	CHECK(v.items[0].active && !v.items[1].active);
	CHECK_EQ(v.items[0].z, 0);
	CHECK_EQ(v.items[1].rect.x, 180);
}

/* Repainting part of a window: exactly that part changes. */
static void test_damage(void)
{
	hv_int_rect part = {10, 20, 50, 30};
	a.base = 0x30d050;
	paint_all(&a, &part, 1);
	sync_ws(ws1);
	a.base = 0xc04020;
	expect_ab(&ref, true);
	/* Outside the part the window keeps its old pattern. */
	for (int y = 0; y < part.height; y++)
		for (int x = 0; x < part.width; x++) {
			struct tw g = a;
			g.base = 0x30d050;
			ref_set(&ref, a.rect.x + part.x + x, a.rect.y + part.y + y,
				pattern(&g, part.x + x, part.y + y), EXACT);
		}
	compare(ws1, &ref, "a damaged part repainted");
	/* And back, through a whole repaint asked for by invalidate_rect. */
	int before = a.paints;
	CHECK_EQ(window_server_invalidate_rect(wsc_conn(ws1), wsc_window_id(a.w),
					       (hv_vec_int_rect){.items = &part, .count = 1}, false),
		 0);
	hv_conn_flush(wsc_conn(ws1));
	PUMP_UNTIL(ws1, a.paints > before);
	sync_ws(ws1);
	expect_ab(&ref, true);
	compare(ws1, &ref, "invalidate_rect answered by a paint");
}

static void test_minimize(void)
{
	CHECK_EQ(window_server_set_window_minimized(wsc_conn(ws1), wsc_window_id(a.w), true), 0);
	ref_init(&ref);
	ref_window(&ref, &b, true);
	compare(ws1, &ref, "A minimized, B active");
	PUMP_UNTIL(ws2, b.activations == 2);
	CHECK_EQ(window_server_set_window_minimized(wsc_conn(ws1), wsc_window_id(a.w), false), 0);
	expect_ab(&ref, true);
	compare(ws1, &ref, "A restored on top");
}

/* A translucent window blends over what is below; its frame is opaque. */
static void test_translucent(void)
{
	static struct tw c;
	open_window(&c, ws2, (hv_int_rect){100, 100, 200, 120}, 0x0000ff, 0x80, "C");
	sync_ws(ws2);
	expect_ab(&ref, true);
	ref_window(&ref, &a, false);
	ref_window(&ref, &c, true);
	compare(ws1, &ref, "a translucent window on top");
	wsc_window_destroy(c.w);
	sync_ws(ws2);
	/* The topmost window left, A, is active again. */
	expect_ab(&ref, true);
	compare(ws1, &ref, "the translucent window gone");
}

static int theme_updates[2];
static char theme_seen[2][64];
static bool theme_has_metric;

static void on_theme(wsc_display *ws, const char *name, const char *ini, size_t len, void *ud)
{
	int k = (int)(intptr_t)ud;
	theme_updates[k]++;
	snprintf(theme_seen[k], sizeof(theme_seen[k]), "%s", name);
	if (k == 1)
		theme_has_metric = memmem(ini, len, "TitleHeight=24\n", 15) != NULL;
}

/* Every client hears of a switch; the decorations are redrawn with the new
 * colours and metrics; an unknown name is refused and changes nothing. */
static void test_themes(void)
{
	wsc_set_theme_callback(ws1, on_theme, (void *)0);
	wsc_set_theme_callback(ws2, on_theme, (void *)1);
	const char *cur = NULL;
	hv_vec_string names;
	REQUIRE_EQ(window_server_get_system_theme(wsc_conn(ws1), &cur, &names), 0);
	CHECK_STR(cur, "test-theme");
	CHECK_EQ(names.count, 3); /* Default, Other, test-theme */
	CHECK_EQ(window_server_set_system_theme(wsc_conn(ws1), "Other"), 0);
	th = other_theme;
	PUMP_UNTIL(ws2, theme_updates[1] == 1);
	PUMP_UNTIL(ws1, theme_updates[0] == 1);
	CHECK_STR(theme_seen[1], "Other");
	CHECK(theme_has_metric);
	expect_ab(&ref, true);
	compare(ws1, &ref, "switched to the Other theme");
	CHECK(has_title_text(ws1, &a, true));

	CHECK_EQ(window_server_set_system_theme(wsc_conn(ws1), "Nonesuch"), -ENOENT);
	CHECK(hv_conn_is_open(wsc_conn(ws1)));
	REQUIRE_EQ(window_server_get_system_theme(wsc_conn(ws1), &cur, &names), 0);
	CHECK_STR(cur, "Other");

	CHECK_EQ(window_server_set_system_theme(wsc_conn(ws2), "test-theme"), 0);
	th = test_theme;
	PUMP_UNTIL(ws1, theme_updates[0] == 2);
	expect_ab(&ref, true);
	compare(ws1, &ref, "back to the test theme");
}

static hv_int_point pointer;

static void mouse(wsc_display *ws, int x, int y, uint32_t buttons)
{
	pointer = (hv_int_point){x, y};
	CHECK_EQ(window_server_inject_mouse(wsc_conn(ws), pointer, buttons, 0), 0);
}

/* The cursor is drawn where the pointer is: not compared. */
static void skip_cursor(struct ref *r)
{
	ref_fill(r, (hv_int_rect){pointer.x, pointer.y, 12, 19}, 0, SKIP);
}

static void test_input(void)
{
	/* A click in B's content: B raised and active, a mouse_down there. */
	mouse(ws1, 400, 280, 0);
	mouse(ws1, 400, 280, 1);
	mouse(ws1, 400, 280, 0);
	PUMP_UNTIL(ws2, b.ups == 1);
	CHECK_EQ(b.downs, 1);
	CHECK(b.last_down.x == 400 - b.rect.x && b.last_down.y == 280 - b.rect.y);
	CHECK(b.entered == 1);
	expect_ab(&ref, false);
	skip_cursor(&ref);
	compare(ws1, &ref, "B clicked to the front");

	/* Keys go to the active window. */
	CHECK_EQ(window_server_inject_key(wsc_conn(ws1), 'x', 0x58, 0, true), 0);
	CHECK_EQ(window_server_inject_key(wsc_conn(ws1), 'x', 0x58, 0, false), 0);
	PUMP_UNTIL(ws2, b.keys == 1);
	CHECK_EQ(b.last_key, 'x');
	CHECK_EQ(a.keys, 0);

	/* Drag A by its title bar: it comes to the front and moves. */
	int tx = a.rect.x + 100, ty = a.rect.y - 10;
	mouse(ws1, tx, ty, 0);
	mouse(ws1, tx, ty, 1);
	mouse(ws1, tx + 30, ty + 25, 1);
	mouse(ws1, tx + 30, ty + 25, 0);
	PUMP_UNTIL(ws1, a.moved >= 1);
	CHECK(a.rect.x == 70 && a.rect.y == 85);
	hv_int_rect r;
	CHECK_EQ(window_server_get_window_rect(wsc_conn(ws1), wsc_window_id(a.w), &r), 0);
	CHECK(r.x == 70 && r.y == 85 && r.width == 220 && r.height == 140);
	CHECK_EQ(a.downs, 0); /* the title bar is the server's */
	mouse(ws1, 630, 470, 0);
	expect_ab(&ref, true);
	skip_cursor(&ref);
	compare(ws1, &ref, "A dragged by its title bar");

	/* The close button: a close request, nothing else. */
	int cx = a.rect.x + a.rect.width - 2 - th.button_w / 2, cy = a.rect.y - th.title / 2;
	mouse(ws1, cx, cy, 1);
	mouse(ws1, cx, cy, 0);
	PUMP_UNTIL(ws1, a.closes == 1);
	CHECK_EQ(b.closes, 0);
	/* Pressed on the button, released elsewhere: abandoned. */
	mouse(ws1, cx, cy, 1);
	mouse(ws1, cx - 60, cy, 0);
	sync_ws(ws1);
	hv_conn_dispatch(wsc_conn(ws1), 50);
	CHECK_EQ(a.closes, 1);
	/* The minimize button. */
	int mx = a.rect.x + a.rect.width - 2 - 3 * th.button_w - 4 + th.button_w / 2;
	mouse(ws1, mx, cy, 1);
	mouse(ws1, mx, cy, 0);
	hv_vec_window_server_window_info v;
	REQUIRE_EQ(window_server_get_windows(wsc_conn(ws1), &v), 0);
	for (size_t i = 0; i < v.count; i++)
		if (v.items[i].client_id == wsc_client_id(ws1))
			CHECK(v.items[i].minimized);
	CHECK_EQ(window_server_set_window_minimized(wsc_conn(ws1), wsc_window_id(a.w), false), 0);

	/* The maximize button: the screen less the frame, repainted at the new
	 * size; again: back where it was. */
	hv_int_rect before = a.rect;
	int xx = a.rect.x + a.rect.width - 2 - th.button_w - 2 - th.button_w / 2;
	int paints = a.paints;
	mouse(ws1, xx, cy, 1);
	mouse(ws1, xx, cy, 0);
	PUMP_UNTIL(ws1, a.resized == 1 && a.paints > paints);
	CHECK(a.rect.x == th.border && a.rect.y == th.border + th.title &&
	      a.rect.width == W - 2 * th.border && a.rect.height == H - 2 * th.border - th.title);
	mouse(ws1, 630, 470, 0);
	sync_ws(ws1);
	expect_ab(&ref, true);
	skip_cursor(&ref);
	compare(ws1, &ref, "A maximized");
	xx = a.rect.x + a.rect.width - 2 - th.button_w - 2 - th.button_w / 2;
	cy = a.rect.y - th.title / 2;
	paints = a.paints;
	mouse(ws1, xx, cy, 1);
	mouse(ws1, xx, cy, 0);
	PUMP_UNTIL(ws1, a.resized == 2 && a.paints > paints);
	CHECK(a.rect.x == before.x && a.rect.y == before.y && a.rect.width == before.width &&
	      a.rect.height == before.height);
	mouse(ws1, 630, 470, 0);
	sync_ws(ws1);
	expect_ab(&ref, true);
	skip_cursor(&ref);
	compare(ws1, &ref, "A restored from maximized");
}

/* Alt+Tab, a border drag, a double click on the title bar. */
static void test_window_management(void)
{
	/* A is on top and active: Alt+Tab brings B (the bottom-most) forward,
	 * and the key is the server's, not B's. */
	sync_ws(ws2);
	for (int i = 0; i < 5; i++) /* what earlier steps sent B, first */
		hv_conn_dispatch(wsc_conn(ws2), 10);
	int acts = b.activations, keys_before = b.keys + a.keys;
	CHECK_EQ(window_server_inject_key(wsc_conn(ws1), '\t', 0xff09, 1, true), 0);
	CHECK_EQ(window_server_inject_key(wsc_conn(ws1), '\t', 0xff09, 1, false), 0);
	PUMP_UNTIL(ws2, b.activations == acts + 1);
	sync_ws(ws1);
	hv_conn_dispatch(wsc_conn(ws1), 20);
	CHECK_EQ(b.keys + a.keys, keys_before);

	/* B's right border dragged 40 px right: B is 40 px wider, repainted. */
	int bx = b.rect.x + b.rect.width + 1, by = b.rect.y + 50, w0 = b.rect.width, resized = b.resized;
	mouse(ws1, bx, by, 1);
	mouse(ws1, bx + 40, by, 1);
	mouse(ws1, bx + 40, by, 0);
	PUMP_UNTIL(ws2, b.resized > resized && b.rect.width == w0 + 40);
	hv_int_rect r;
	CHECK_EQ(window_server_get_window_rect(wsc_conn(ws2), wsc_window_id(b.w), &r), 0);
	CHECK(r.width == w0 + 40 && r.x == 180 && r.height == 160);
	mouse(ws1, 630, 470, 0);
	sync_ws(ws2);
	expect_ab(&ref, false);
	skip_cursor(&ref);
	compare(ws1, &ref, "B resized by its border");

	/* A double click on B's title maximizes it; another restores it. */
	int tx = b.rect.x + 60, ty = b.rect.y - 10;
	resized = b.resized;
	for (int k = 0; k < 2; k++) {
		mouse(ws1, tx, ty, 1);
		mouse(ws1, tx, ty, 0);
	}
	PUMP_UNTIL(ws2, b.resized > resized);
	CHECK(b.rect.width == W - 2 * th.border);
	tx = b.rect.x + 60, ty = b.rect.y - 10;
	resized = b.resized;
	for (int k = 0; k < 2; k++) {
		mouse(ws1, tx, ty, 1);
		mouse(ws1, tx, ty, 0);
	}
	PUMP_UNTIL(ws2, b.resized > resized);
	CHECK(b.rect.x == 180 && b.rect.width == w0 + 40);
	mouse(ws1, 630, 470, 0);
}

/* --- the window manager's channel ---------------------------------------- */
static struct {
	int states, removed, rects;
	int32_t last_client, last_window, removed_client, removed_window;
	bool last_active, last_minimized;
	char last_title[64];
} wm;

static int wm_state(hv_call *call, const window_manager_client_window_state_changed_req *req)
{
	wm.states++;
	wm.last_client = req->client_id;
	wm.last_window = req->window_id;
	wm.last_active = req->is_active;
	wm.last_minimized = req->is_minimized;
	snprintf(wm.last_title, sizeof(wm.last_title), "%s", req->title);
	return 0;
}

static int wm_rect(hv_call *call, const window_manager_client_window_rect_changed_req *req)
{
	wm.rects++;
	return 0;
}

static int wm_removed(hv_call *call, const window_manager_client_window_removed_req *req)
{
	wm.removed++;
	wm.removed_client = req->client_id;
	wm.removed_window = req->window_id;
	return 0;
}

static const window_manager_client_handlers wm_handlers =
	WINDOW_MANAGER_CLIENT_HANDLERS(wm_state, wm_rect, wm_removed);

#define WM_PUMP_UNTIL(c, cond)                                                                     \
	do {                                                                                       \
		hv_conn_flush(c);                                                                  \
		for (int _i = 0; _i < 500 && !(cond); _i++)                                        \
			hv_conn_dispatch(c, 10);                                                   \
		CHECK_MSG(cond, "waited in vain for %s", #cond);                                   \
	} while (0)

static bool minimized(int32_t client_id, int32_t window_id)
{
	hv_vec_window_server_window_info v;
	REQUIRE_EQ(window_server_get_windows(wsc_conn(ws1), &v), 0);
	for (size_t i = 0; i < v.count; i++)
		if (v.items[i].client_id == client_id && v.items[i].window_id == window_id)
			return v.items[i].minimized;
	return false;
}

/* A Taskbar's view: every window's state as it changes, and its buttons
 * acting on other clients' windows. */
static void test_window_manager(void)
{
	hv_conn *c = svc_connect(&fx);
	REQUIRE_EQ(hv_conn_serve(c, &window_manager_client_endpoint, &wm_handlers), 0);
	int32_t ca = wsc_client_id(ws1), cb = wsc_client_id(ws2);
	int32_t ia = wsc_window_id(a.w), ib = wsc_window_id(b.w);
	window_manager_server_set_event_mask(c, 1);
	WM_PUMP_UNTIL(c, wm.states >= 2); /* A and B, at once */

	CHECK_EQ(window_server_set_window_title(wsc_conn(ws1), ia, "A2"), 0);
	WM_PUMP_UNTIL(c, !strcmp(wm.last_title, "A2"));
	CHECK(wm.last_client == ca && wm.last_window == ia);
	CHECK_EQ(window_server_set_window_title(wsc_conn(ws1), ia, "A"), 0);

	int acts = a.activations;
	window_manager_server_set_active_window(c, ca, ia);
	WM_PUMP_UNTIL(c, wm.last_window == ia && wm.last_active);
	PUMP_UNTIL(ws1, a.activations > acts);

	window_manager_server_set_window_minimized(c, cb, ib, true);
	WM_PUMP_UNTIL(c, wm.last_window == ib && wm.last_minimized);
	CHECK(minimized(cb, ib));
	window_manager_server_set_window_minimized(c, cb, ib, false);
	WM_PUMP_UNTIL(c, wm.last_window == ib && !wm.last_minimized);

	window_manager_server_toggle_show_desktop(c);
	hv_conn_flush(c);
	sync_ws(ws1);
	CHECK(minimized(ca, ia) && minimized(cb, ib));
	window_manager_server_toggle_show_desktop(c);
	hv_conn_flush(c);
	sync_ws(ws1);
	CHECK(!minimized(ca, ia) && !minimized(cb, ib));
	/* A window that is gone is ignored, not an offence. */
	window_manager_server_set_active_window(c, cb, 999);
	CHECK(!dropped(c));

	struct tw t;
	open_window(&t, ws1, (hv_int_rect){10, 300, 60, 40}, 0x123456, 255, "brief");
	int32_t it = wsc_window_id(t.w);
	wsc_window_destroy(t.w);
	WM_PUMP_UNTIL(c, wm.removed == 1);
	CHECK(wm.removed_client == ca && wm.removed_window == it);
	hv_conn_close(c);
	mouse(ws1, 630, 470, 0);
}

static void on_display_link(wsc_display *ws, void *ud)
{
	(*(int *)ud)++;
}

/* display_link_notification once per frame while enabled, none after. */
static void test_display_link(void)
{
	int n = 0;
	wsc_set_display_link(ws1, on_display_link, &n);
	hv_conn_flush(wsc_conn(ws1));
	PUMP_UNTIL(ws1, n >= 3);
	wsc_set_display_link(ws1, NULL, NULL);
	sync_ws(ws1);
	for (int i = 0; i < 10; i++)
		hv_conn_dispatch(wsc_conn(ws1), 10);
	int settled = n;
	for (int i = 0; i < 10; i++)
		hv_conn_dispatch(wsc_conn(ws1), 10);
	CHECK_EQ(n, settled);
}

/* Without --test-input, inject_* is refused and changes nothing. */
static void test_injection_refused(void)
{
	svc_fixture f2;
	const char *args[] = {"--size", "640x480", "--theme", theme, NULL};
	svc_start(&f2, exe, "window", args);
	wsc_display *ws = NULL;
	REQUIRE_EQ(wsc_connect(NULL, f2.sock, &ws), 0);
	int r = window_server_inject_mouse(wsc_conn(ws), (hv_int_point){10, 10}, 1, 0);
	CHECK_EQ(r, -EPERM);
	CHECK(hv_conn_is_open(wsc_conn(ws)));
	CHECK_EQ(window_server_inject_key(wsc_conn(ws), 'a', 0, 0, true), -EPERM);
	wsc_close(ws);
	svc_stop(&f2);
	/* Restore the first fixture's portal for the CLIs (svc_start set it). */
	setenv("HAVEN_PORTAL_DIR", fx.portal, 1);
}

/* --- hostile clients ----------------------------------------------------- */
/* After each offender: it is gone, the others are not, and the screen still
 * follows the others' painting. */
static void screen_still_updates(const char *after)
{
	b.base ^= 0x00ff00;
	hv_int_rect all = {0, 0, b.rect.width, b.rect.height};
	paint_all(&b, &all, 1);
	sync_ws(ws2);
	struct ref *r = &ref;
	CHECK_EQ(window_server_move_window_to_front(wsc_conn(ws2), wsc_window_id(b.w)), 0);
	expect_ab(r, false);
	skip_cursor(r);
	char what[128];
	snprintf(what, sizeof(what), "the screen after %s", after);
	compare(ws2, r, what);
	CHECK(hv_conn_is_open(wsc_conn(ws1)) && hv_conn_is_open(wsc_conn(ws2)));
}

/* A raw client with one window of 100x100, for offences. */
static hv_conn *offender(int32_t *id)
{
	hv_conn *c = svc_connect(&fx);
	hv_int_rect scr;
	int32_t cid;
	REQUIRE_EQ(window_server_greet(c, &scr, &cid), 0);
	*id = 7;
	REQUIRE_EQ(window_server_create_window(c, *id, (hv_int_rect){300, 300, 100, 100}, false, true,
					       true, false, "bad"),
		   0);
	return c;
}

static bool dropped(hv_conn *c)
{
	int32_t id;
	hv_int_rect r;
	int rr = window_server_greet(c, &r, &id);
	return rr == -ECONNRESET || rr == -EPIPE;
}

static void check_offender_gone(hv_conn *c, const char *what)
{
	CHECK_MSG(dropped(c), "%s: the offender is still connected", what);
	hv_conn_close(c);
	hv_vec_window_server_window_info v;
	REQUIRE_EQ(window_server_get_windows(wsc_conn(ws1), &v), 0);
	CHECK_MSG(v.count == 2, "%s: %zu windows left, expected 2", what, v.count);
	screen_still_updates(what);
}

static int raw_memfd(size_t size, unsigned seals)
{
	int fd = memfd_create("bad", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0);
	REQUIRE(ftruncate(fd, (off_t)size) == 0);
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

static void send_store(hv_conn *c, int32_t id, int fd, uint32_t w, uint32_t h, size_t size)
{
	hv_bitmap bm = {.width = w, .height = h, .stride = w * 4, .format = HV_PIXEL_BGRX8888,
			.buffer = {.fd = fd, .size = size}};
	window_server_set_window_backing_store(c, id, bm, 1, true);
	close(fd);
}

static void test_hostile(void)
{
	int32_t id;
	hv_conn *c = offender(&id);
	send_store(c, id, raw_memfd(100 * 100 * 4, 0), 100, 100, 100 * 100 * 4);
	check_offender_gone(c, "an unsealed buffer");

	/* Sealed, but smaller than the size it claims. */
	c = offender(&id);
	send_store(c, id, raw_memfd(100 * 50 * 4, F_SEAL_SHRINK | F_SEAL_GROW), 100, 100, 100 * 100 * 4);
	check_offender_gone(c, "a truncated buffer");

	c = offender(&id);
	send_store(c, id, raw_memfd(10 * 10 * 4, F_SEAL_SHRINK | F_SEAL_GROW), 10, 10, 10 * 10 * 4);
	check_offender_gone(c, "a bitmap of the wrong size");

	/* A window id it never created (another client's has that number). */
	c = offender(&id);
	window_server_set_window_title(c, wsc_window_id(b.w) + 100, "mine now");
	check_offender_gone(c, "another client's window id");
	const char *title = NULL;
	CHECK_EQ(window_server_get_window_title(wsc_conn(ws2), wsc_window_id(b.w), &title), 0);
	CHECK_STR(title, "B");

	c = offender(&id);
	int r = 0, i;
	for (i = 100; i < 100 + 10000 && r == 0; i++)
		r = window_server_create_window(c, i, (hv_int_rect){0, 0, 50, 50}, false, true, true,
						false, "flood");
	CHECK_MSG(r < 0 && i < 100 + 300, "a flood of windows was accepted (%d windows)", i - 100);
	check_offender_gone(c, "a flood of windows");

	/* Bad rects are refused without ending the connection. */
	c = offender(&id);
	r = window_server_create_window(c, 8, (hv_int_rect){0, 0, 0, 10}, false, true, true, false, "e");
	CHECK_EQ(r, -EINVAL);
	CHECK_EQ(window_server_create_window(c, id, (hv_int_rect){0, 0, 5, 5}, false, true, true, false,
					     "dup"),
		 -EEXIST);
	CHECK(!dropped(c));
	hv_conn_close(c);
	sync_ws(ws1);
}

/* The server's private memory (kB) from /proc/PID/status. */
static long rss_anon(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	REQUIRE(f);
	long kb = -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "RssAnon:", 8))
			kb = atol(line + 8);
	fclose(f);
	return kb;
}

/* A big window costs the server its mapping, not a copy: its private
 * memory does not grow with the window's pixels (12 MB here). */
static void test_memory(void)
{
	long before = rss_anon(fx.pid);
	wsc_display *ws = connect_ws();
	struct tw big;
	open_window(&big, ws, (hv_int_rect){-100, -50, 2000, 1500}, 0x808000, 255, "big");
	sync_ws(ws);
	hv_bitmap shot;
	screenshot(ws, &shot);
	CHECK_EQ(shot_px(&shot, 300, 300), pattern(&big, 400, 350));
	hv_bitmap_release(&shot);
	long after = rss_anon(fx.pid);
	CHECK_MSG(before > 0 && after - before < 3 * 1024,
		  "the server's private memory grew by %ld kB for a 12 MB window", after - before);
	wsc_close(ws);
	sync_ws(ws1);
}

/* A client that dies with windows open: they go, the screen is repaired. */
static void test_client_dies(void)
{
	pid_t pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		wsc_display *ws = connect_ws();
		struct tw d;
		open_window(&d, ws, (hv_int_rect){20, 250, 150, 100}, 0xffff00, 255, "doomed");
		sync_ws(ws);
		_exit(0);
	}
	int status;
	REQUIRE(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int k = 0; k < 200; k++) {
		hv_vec_window_server_window_info v;
		REQUIRE_EQ(window_server_get_windows(wsc_conn(ws1), &v), 0);
		if (v.count == 2)
			break;
		poll(NULL, 0, 10);
	}
	screen_still_updates("a client died");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s WindowServer THEME.ini\n", argv[0]);
		return 2;
	}
	th = test_theme;
	exe = argv[1];
	theme = argv[2];
	signal(SIGPIPE, SIG_IGN);
	char theme_dir[] = "/tmp/ws-themes-XXXXXX", other[64];
	REQUIRE(mkdtemp(theme_dir));
	snprintf(other, sizeof(other), "%s/Other.ini", theme_dir);
	FILE *f = fopen(other, "w");
	REQUIRE(f && fputs(other_ini, f) >= 0 && fclose(f) == 0);
	const char *args[] = {"--size", "640x480", "--theme", theme, "--theme-dir", theme_dir,
			      "--test-input", NULL};
	svc_start(&fx, exe, "window", args);
	test_stacking();
	test_damage();
	test_minimize();
	test_translucent();
	test_themes();
	test_input();
	test_window_management();
	test_window_manager();
	test_display_link();
	test_hostile();
	test_memory();
	test_client_dies();
	test_injection_refused();
	wsc_close(ws1);
	wsc_close(ws2);
	CHECK(svc_alive(&fx));
	svc_stop(&fx);
	unlink(other);
	rmdir(theme_dir);
	return check_result();
}
