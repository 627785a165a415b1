/* test-compositor.c — the compositor library alone: theme files (values,
 * SerenityOS keys ignored, errors), hit testing of the decorations,
 * occlusion, composition of frames and unpainted content, and the checks
 * a received backing store must pass before it is mapped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "compositor.h"

static void test_theme(void)
{
	struct ws_theme t;
	CHECK_EQ(ws_theme_parse(&t, "/x/Mine.ini",
				"[Colors]\nDesktopBackground=#112233\nActiveWindowBorder1=#11223344\n"
				"MenuBase=whatever\n[Metrics]\nTitleHeight=30\n[Paths]\nX=/y\n"),
		 0);
	CHECK_EQ(t.desktop_background, 0xff112233);
	CHECK_EQ(t.active_border, 0x44112233);
	CHECK_EQ(t.active_title, 0x44112233); /* the title bar follows Border1 unless given */
	CHECK_EQ(t.title_height, 30);
	CHECK_EQ(t.border_thickness, 4); /* the default */
	CHECK_STR(t.name, "Mine");
	CHECK_EQ(ws_theme_parse(&t, "bad", "[Colors]\nWindow=red\n"), -EINVAL);
	CHECK_EQ(ws_theme_parse(&t, "bad", "[Colors]\nWindow=#12345\n"), -EINVAL);
	CHECK_EQ(ws_theme_parse(&t, "bad", "[Metrics]\nTitleHeight=2\n"), -EINVAL);
	CHECK_EQ(ws_theme_parse(&t, "bad", "[Metrics]\nBorderThickness=x\n"), -EINVAL);
	CHECK_EQ(ws_theme_parse(&t, "bad", "not an ini line\n"), -EINVAL);
	CHECK_EQ(ws_theme_load(&t, "/nonexistent/theme.ini"), -ENOENT);

	/* What the server sends clients parses back to the same theme. */
	struct ws_theme u, back;
	ws_theme_default(&u);
	u.window = 0x80123456, u.title_height = 33, u.border_thickness = 0;
	char text[4096];
	REQUIRE(ws_theme_format(&u, text, sizeof(text)) > 0);
	REQUIRE_EQ(ws_theme_parse(&back, "Default", text), 0);
	CHECK(!memcmp(&u, &back, sizeof(u)));
	CHECK_EQ(ws_theme_format(&u, text, 40), -ENOSPC);
}

static uint32_t px(const ws_compositor *c, int x, int y)
{
	return c->pixels[y * c->width + x] & 0xffffff;
}

static struct ws_window *window(ws_compositor *c, struct ws_rect r)
{
	struct ws_window *w = ws_window_new();
	REQUIRE(w);
	w->rect = r;
	w->resizable = w->minimizable = true;
	REQUIRE_EQ(ws_window_set_title(c, w, "t"), 0);
	ws_compositor_add(c, w);
	return w;
}

static void test_geometry(void)
{
	struct ws_theme t;
	ws_theme_default(&t);
	t.title_height = 20, t.border_thickness = 3, t.title_button_width = t.title_button_height = 14;
	ws_compositor c;
	REQUIRE_EQ(ws_compositor_init(&c, 200, 150, &t, NULL), 0);
	struct ws_window *a = window(&c, (struct ws_rect){20, 40, 100, 60});
	ws_compositor_activate(&c, a);
	pixman_region32_t fl;
	pixman_region32_init(&fl);
	ws_compose(&c, &fl);
	CHECK_EQ(px(&c, 0, 0), t.desktop_background & 0xffffff);
	CHECK_EQ(px(&c, 50, 70), t.window & 0xffffff); /* not painted by its client yet */
	CHECK_EQ(px(&c, 18, 70), t.active_border & 0xffffff);
	CHECK_EQ(px(&c, 30, 30), t.active_title & 0xffffff);

	enum ws_part part;
	CHECK(ws_hit_test(&c, 50, 70, &part) == a && part == WS_PART_CONTENT);
	CHECK(ws_hit_test(&c, 30, 30, &part) == a && part == WS_PART_TITLE);
	CHECK(ws_hit_test(&c, 18, 70, &part) == a && part == WS_PART_BORDER);
	CHECK(ws_hit_test(&c, 120 - 2 - 7, 30, &part) == a && part == WS_PART_CLOSE);
	CHECK(ws_hit_test(&c, 120 - 2 - 16 - 7, 30, &part) == a && part == WS_PART_MAXIMIZE);
	CHECK(ws_hit_test(&c, 120 - 2 - 32 - 7, 30, &part) == a && part == WS_PART_MINIMIZE);
	CHECK(!ws_hit_test(&c, 5, 5, &part) && part == WS_PART_NONE);

	/* Covered whole by an opaque window: occluded; minimized: too. */
	struct ws_window *b = window(&c, (struct ws_rect){10, 20, 150, 120});
	CHECK(ws_window_occluded(&c, a));
	CHECK(!ws_window_occluded(&c, b));
	ws_window_set_minimized(&c, b, true);
	CHECK(!ws_window_occluded(&c, a));
	CHECK(ws_window_occluded(&c, b));
	CHECK(ws_hit_test(&c, 50, 70, &part) == a);
	/* Maximized: the screen less the frame; restored: where it was. */
	ws_window_set_maximized(&c, a, true);
	CHECK(a->rect.x == 3 && a->rect.y == 23 && a->rect.width == 194 && a->rect.height == 124);
	ws_window_set_maximized(&c, a, false);
	CHECK(a->rect.x == 20 && a->rect.y == 40 && a->rect.width == 100);
	pixman_region32_fini(&fl);
	ws_compositor_fini(&c);
}

static int memfd(size_t size, unsigned seals)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	REQUIRE(fd >= 0 && ftruncate(fd, (off_t)size) == 0);
	if (seals)
		REQUIRE(fcntl(fd, F_ADD_SEALS, seals) == 0);
	return fd;
}

/* The permissions of the mapping that holds p, from /proc/self/maps. */
static const char *map_perms(const void *p)
{
	static char perms[8];
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");
	REQUIRE(f);
	perms[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char pm[8];
		if (sscanf(line, "%lx-%lx %7s", &lo, &hi, pm) == 3 && (unsigned long)p >= lo &&
		    (unsigned long)p < hi)
			snprintf(perms, sizeof(perms), "%s", pm);
	}
	fclose(f);
	return perms;
}

static void test_store_checks(void)
{
	struct ws_store s;
	const char *why;
	unsigned sealed = F_SEAL_SHRINK | F_SEAL_GROW;
	int p[2];
	REQUIRE(pipe(p) == 0);
	CHECK_EQ(ws_store_map(&s, p[0], 400, 10, 10, 40, false, 1, &why), -EBADMSG);
	CHECK_STR(why, "not a memfd");
	close(p[0]), close(p[1]);
	int fd = memfd(400, 0);
	CHECK_EQ(ws_store_map(&s, fd, 400, 10, 10, 40, false, 1, &why), -EBADMSG);
	CHECK_STR(why, "memfd not sealed against shrinking and growing");
	close(fd);
	fd = memfd(400, sealed);
	CHECK_EQ(ws_store_map(&s, fd, 800, 10, 20, 40, false, 1, &why), -EBADMSG);
	CHECK_STR(why, "memfd size differs from the bitmap's");
	CHECK_EQ(ws_store_map(&s, fd, 400, 10, 10, 42, false, 1, &why), -EBADMSG); /* stride % 4 */
	CHECK_EQ(ws_store_map(&s, fd, 400, 10, 10, 36, false, 1, &why), -EBADMSG); /* < width * 4 */
	CHECK_EQ(ws_store_map(&s, fd, 400, 10, 11, 40, false, 1, &why), -EBADMSG); /* > size */
	CHECK_EQ(ws_store_map(&s, fd, 400, 0, 10, 40, false, 1, &why), -EBADMSG);
	/* A good one is mapped shared and read-only ("r--s" in the maps). */
	REQUIRE_EQ(ws_store_map(&s, fd, 400, 10, 10, 40, true, 5, &why), 0);
	CHECK(s.image && s.serial == 5 && s.has_alpha && s.fd == fd);
	CHECK_STR(map_perms(s.data), "r--s");
	ws_store_release(&s);
	CHECK_EQ(s.fd, -1);
	CHECK(fcntl(fd, F_GETFD) < 0); /* the store owned it */
}

int main(void)
{
	test_theme();
	test_geometry();
	test_store_checks();
	return check_result();
}
