/* ws-bench — the WindowServer compositor alone (no IPC), on a 1920x1080
 * screen with the default theme and the title font:
 *
 *   full     16 opaque 800x600 windows, the whole screen recomposed;
 *   damage   one 200x100 update inside a window plus a cursor move;
 *   culling  32 opaque 800x600 windows, whole screen, with occlusion
 *            culling (each covered pixel written once) ...
 *   naive    ... and the same 32 painted bottom-up with OVER as if each
 *            were translucent (what a compositor without culling does),
 *            in the same run, with the ratio.
 *
 * Medians of many frames, in ms. Targets (issue 22): full <= 2 ms, damage
 * <= 0.5 ms, culling <= 2 ms. ws-bench --quick runs few frames (a smoke
 * test: every path works; speed is not asserted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <haven/loop.h>

#include "compositor.h"
#include "font.h"

#define SW 1920
#define SH 1080

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_ms(uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	return ns[n / 2] / 1e6;
}

/* A window with a private (malloc'd) store of a colour: the compositor
 * sees what it sees of a client's mapping. */
static struct ws_window *add_window(ws_compositor *c, int i, int x, int y, bool alpha)
{
	struct ws_window *w = ws_window_new();
	if (!w)
		abort();
	w->id = i;
	w->has_alpha = alpha;
	w->minimizable = w->resizable = true;
	w->rect = (struct ws_rect){x, y, 800, 600};
	pixman_image_t *img = pixman_image_create_bits(alpha ? PIXMAN_a8r8g8b8 : PIXMAN_x8r8g8b8, 800,
						       600, NULL, 800 * 4);
	if (!img)
		abort();
	uint32_t *px = pixman_image_get_data(img);
	/* Translucent ones really are (alpha 0xf0, premultiplied): no opaque
	 * shortcut inside pixman's blending. */
	for (int k = 0; k < 800 * 600; k++)
		px[k] = alpha ? 0xf0000000u | ((uint32_t)(i * 0x102030 + k) & 0xefefef)
			      : 0xff000000u | (uint32_t)(i * 0x102030 + k);
	w->current = (struct ws_store){.fd = -1, .serial = 1, .width = 800, .height = 600,
				       .stride = 800 * 4, .has_alpha = alpha, .image = img};
	char title[32];
	snprintf(title, sizeof(title), "Window %d", i);
	ws_window_set_title(c, w, title);
	ws_compositor_add(c, w);
	return w;
}

static double time_frames(ws_compositor *c, int frames, struct ws_rect damage, bool cursor)
{
	uint64_t *ns = calloc((size_t)frames, sizeof(*ns));
	pixman_region32_t flushed;
	pixman_region32_init(&flushed);
	for (int f = 0; f < frames; f++) {
		uint64_t t0 = hv_now_ns();
		ws_damage_rect(c, damage);
		if (cursor)
			ws_cursor_move(c, 900 + (f & 7), 500 + (f & 3));
		ws_compose(c, &flushed);
		ns[f] = hv_now_ns() - t0;
	}
	pixman_region32_fini(&flushed);
	double m = median_ms(ns, frames);
	free(ns);
	return m;
}

static void setup(ws_compositor *c, const struct ws_theme *t, struct ws_font *font, int n,
		  bool alpha)
{
	if (ws_compositor_init(c, SW, SH, t, font) < 0)
		abort();
	for (int i = 0; i < n; i++)
		add_window(c, i, (i % 8) * 150, (i / 8) * 120 + (i % 3) * 40, alpha);
	ws_compositor_activate(c, c->top);
}

int main(int argc, char **argv)
{
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	int frames = quick ? 5 : 300;
	struct ws_theme theme;
	ws_theme_default(&theme);
	struct ws_font *font = NULL;
	if (ws_font_open(WS_DEFAULT_FONT, theme.title_height * 2 / 3, &font) < 0)
		fprintf(stderr, "ws-bench: no font; titles not drawn\n");
	struct ws_rect all = {0, 0, SW, SH};
	ws_compositor c;

	setup(&c, &theme, font, 16, false);
	double full = time_frames(&c, frames, all, false);
	struct ws_window *top = c.top;
	struct ws_rect upd = {top->rect.x + 100, top->rect.y + 100, 200, 100};
	time_frames(&c, 2, all, true); /* the cursor on screen */
	uint64_t written = c.pixels_written;
	double damage = time_frames(&c, frames * 4, upd, true);
	/* What the damage frames composed of window content (the update and
	 * the cursor's old and new places): proof they did work. */
	double per_frame = (double)(c.pixels_written - written) / (frames * 4);
	ws_compositor_fini(&c);

	setup(&c, &theme, font, 32, false);
	double culled = time_frames(&c, frames, all, false);
	ws_compositor_fini(&c);
	setup(&c, &theme, font, 32, true);
	c.naive = true;
	double naive = time_frames(&c, quick ? 2 : frames / 4, all, false);
	ws_compositor_fini(&c);
	ws_font_free(font);

	printf("screen %dx%d, windows 800x600, median of %d frames\n", SW, SH, frames);
	printf("full recomposition, 16 opaque windows:   %7.3f ms  (target <= 2)\n", full);
	printf("damage-only frame, 200x100 + cursor:     %7.3f ms  (target <= 0.5; %.0f content pixels)\n",
	       damage, per_frame);
	printf("32 windows, occlusion culling:           %7.3f ms  (target <= 2)\n", culled);
	printf("32 windows, naive translucent painting:  %7.3f ms  (%.1fx the culled frame)\n", naive,
	       naive / culled);
	return 0;
}
