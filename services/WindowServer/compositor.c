/* compositor.c — windows, damage and composition on pixman (compositor.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/util.h>

#include "compositor.h"
#include "font.h"

static pixman_color_t color_of(uint32_t argb)
{
	/* pixman's colours are premultiplied. */
	uint32_t a = argb >> 24;
	return (pixman_color_t){
		.red = (uint16_t)(((argb >> 16) & 0xff) * a / 255 * 0x101),
		.green = (uint16_t)(((argb >> 8) & 0xff) * a / 255 * 0x101),
		.blue = (uint16_t)((argb & 0xff) * a / 255 * 0x101),
		.alpha = (uint16_t)(a * 0x101),
	};
}

static pixman_box32_t box_of(struct ws_rect r)
{
	return (pixman_box32_t){r.x, r.y, r.x + r.width, r.y + r.height};
}

static void fill(ws_compositor *c, uint32_t argb, struct ws_rect r)
{
	if (r.width <= 0 || r.height <= 0)
		return;
	pixman_color_t col = color_of(argb);
	pixman_box32_t b = box_of(r);
	pixman_image_fill_boxes(PIXMAN_OP_SRC, c->screen, &col, 1, &b);
}

/* --- the cursor ---------------------------------------------------------- */
/* The arrow, 'X' black, '.' white, ' ' transparent (hotspot 0,0). */
static const char *const arrow[] = {
	"X           ", "XX          ", "X.X         ", "X..X        ", "X...X       ",
	"X....X      ", "X.....X     ", "X......X    ", "X.......X   ", "X........X  ",
	"X.........X ", "X......XXXXX", "X...X..X    ", "X..XX..X    ", "X.X  X..X   ",
	"XX   X..X   ", "X     X..X  ", "      X..X  ", "       XX   ",
};

static pixman_image_t *cursor_image(void)
{
	int w = (int)strlen(arrow[0]), h = (int)HV_ARRAY_SIZE(arrow);
	pixman_image_t *img = pixman_image_create_bits(PIXMAN_a8r8g8b8, w, h, NULL, w * 4);
	if (!img)
		return NULL;
	uint32_t *px = pixman_image_get_data(img);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			px[y * w + x] = arrow[y][x] == 'X' ? 0xff000000u : arrow[y][x] == '.' ? 0xffffffffu : 0;
	return img;
}

static struct ws_rect cursor_rect(const ws_compositor *c)
{
	if (!c->cursor || !c->cursor_visible)
		return (struct ws_rect){0};
	return (struct ws_rect){c->cursor_x, c->cursor_y, pixman_image_get_width(c->cursor),
				pixman_image_get_height(c->cursor)};
}

void ws_cursor_move(ws_compositor *c, int x, int y)
{
	ws_damage_rect(c, cursor_rect(c));
	c->cursor_x = x;
	c->cursor_y = y;
	c->cursor_visible = true;
	ws_damage_rect(c, cursor_rect(c));
}

void ws_cursor_show(ws_compositor *c, bool visible)
{
	ws_damage_rect(c, cursor_rect(c));
	c->cursor_visible = visible;
	ws_damage_rect(c, cursor_rect(c));
}

/* --- setup --------------------------------------------------------------- */
int ws_compositor_init(ws_compositor *c, int width, int height, const struct ws_theme *theme,
		       struct ws_font *font)
{
	*c = (ws_compositor){.width = width, .height = height, .theme = theme, .font = font,
			     .pixels_fd = -1};
	size_t n;
	if (width <= 0 || height <= 0 || width > WS_MAX_WINDOW_SIDE || height > WS_MAX_WINDOW_SIDE ||
	    !hv_mul_ok((size_t)width * 4, (size_t)height, &n))
		return -EINVAL;
	c->pixels_fd = memfd_create("ws-screen", MFD_CLOEXEC);
	if (c->pixels_fd < 0)
		return -errno;
	if (ftruncate(c->pixels_fd, (off_t)n) < 0) {
		int r = -errno;
		ws_compositor_fini(c);
		return r;
	}
	void *px = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, c->pixels_fd, 0);
	if (px == MAP_FAILED) {
		int r = -errno;
		ws_compositor_fini(c);
		return r;
	}
	c->pixels = px;
	c->screen = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8, width, height, c->pixels,
						      width * 4);
	c->cursor = cursor_image();
	if (!c->screen || !c->cursor) {
		ws_compositor_fini(c);
		return -ENOMEM;
	}
	pixman_region32_init_rect(&c->damage, 0, 0, (unsigned)width, (unsigned)height);
	return 0;
}

void ws_compositor_fini(ws_compositor *c)
{
	while (c->top) {
		struct ws_window *w = c->top;
		ws_compositor_remove(c, w);
		ws_window_free(w);
	}
	if (c->screen)
		pixman_image_unref(c->screen);
	if (c->cursor)
		pixman_image_unref(c->cursor);
	pixman_region32_fini(&c->damage);
	if (c->pixels)
		munmap(c->pixels, (size_t)c->width * c->height * 4);
	hv_close(&c->pixels_fd);
	*c = (ws_compositor){.pixels_fd = -1};
}

void ws_compositor_set_theme(ws_compositor *c, const struct ws_theme *theme)
{
	c->theme = theme;
	ws_damage_rect(c, (struct ws_rect){0, 0, c->width, c->height});
}

/* --- damage -------------------------------------------------------------- */
void ws_damage_rect(ws_compositor *c, struct ws_rect r)
{
	/* Clipped to the screen here, so the region stays small and sane
	 * whatever coordinates a window has. */
	int x0 = HV_MAX(r.x, 0), y0 = HV_MAX(r.y, 0);
	int x1 = HV_MIN((int64_t)r.x + r.width, c->width), y1 = HV_MIN((int64_t)r.y + r.height, c->height);
	if (r.width <= 0 || r.height <= 0 || x1 <= x0 || y1 <= y0)
		return;
	pixman_region32_union_rect(&c->damage, &c->damage, x0, y0, (unsigned)(x1 - x0),
				   (unsigned)(y1 - y0));
}

void ws_damage_window(ws_compositor *c, const struct ws_window *w)
{
	ws_damage_rect(c, ws_window_frame_rect(c, w));
}

void ws_damage_window_rect(ws_compositor *c, const struct ws_window *w, struct ws_rect r)
{
	int x0 = HV_MAX(r.x, 0), y0 = HV_MAX(r.y, 0);
	int x1 = HV_MIN((int64_t)r.x + r.width, w->rect.width);
	int y1 = HV_MIN((int64_t)r.y + r.height, w->rect.height);
	if (r.width <= 0 || r.height <= 0 || x1 <= x0 || y1 <= y0 || w->minimized)
		return;
	ws_damage_rect(c, (struct ws_rect){w->rect.x + x0, w->rect.y + y0, x1 - x0, y1 - y0});
}

bool ws_has_damage(const ws_compositor *c)
{
	return pixman_region32_not_empty((pixman_region32_t *)&c->damage);
}

/* --- windows ------------------------------------------------------------- */
struct ws_window *ws_window_new(void)
{
	struct ws_window *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->current.fd = w->previous.fd = -1;
	w->current.serial = w->previous.serial = -1;
	pixman_region32_init(&w->clip_frame);
	pixman_region32_init(&w->clip_content);
	return w;
}

void ws_window_free(struct ws_window *w)
{
	if (!w)
		return;
	ws_store_release(&w->current);
	ws_store_release(&w->previous);
	pixman_region32_fini(&w->clip_frame);
	pixman_region32_fini(&w->clip_content);
	ws_glyph_run_free(w->title_run);
	free(w->title);
	free(w);
}

static void unlink_window(ws_compositor *c, struct ws_window *w)
{
	if (w->above)
		w->above->below = w->below;
	else
		c->top = w->below;
	if (w->below)
		w->below->above = w->above;
	else
		c->bottom = w->above;
	w->above = w->below = NULL;
}

static void link_top(ws_compositor *c, struct ws_window *w)
{
	w->below = c->top;
	w->above = NULL;
	if (c->top)
		c->top->above = w;
	else
		c->bottom = w;
	c->top = w;
}

void ws_compositor_add(ws_compositor *c, struct ws_window *w)
{
	link_top(c, w);
	ws_damage_window(c, w);
}

void ws_compositor_remove(ws_compositor *c, struct ws_window *w)
{
	ws_damage_window(c, w);
	unlink_window(c, w);
	if (c->active == w)
		c->active = NULL;
}

void ws_compositor_raise(ws_compositor *c, struct ws_window *w)
{
	if (c->top == w)
		return;
	unlink_window(c, w);
	link_top(c, w);
	ws_damage_window(c, w);
}

struct ws_window *ws_compositor_activate(ws_compositor *c, struct ws_window *w)
{
	struct ws_window *old = c->active;
	if (w)
		ws_compositor_raise(c, w);
	if (old == w)
		return old;
	/* The frames change colour. */
	if (old)
		ws_damage_window(c, old);
	if (w)
		ws_damage_window(c, w);
	c->active = w;
	return old;
}

struct ws_window *ws_compositor_topmost(ws_compositor *c, const struct ws_window *except)
{
	for (struct ws_window *w = c->top; w; w = w->below)
		if (w != except && !w->minimized)
			return w;
	return NULL;
}

int ws_window_set_title(ws_compositor *c, struct ws_window *w, const char *title)
{
	char *t = strdup(title);
	if (!t)
		return -ENOMEM;
	struct ws_glyph_run *run = NULL;
	if (c->font) {
		int r = ws_glyph_run_new(c->font, t, &run);
		if (r < 0) {
			free(t);
			return r;
		}
	}
	free(w->title);
	ws_glyph_run_free(w->title_run);
	w->title = t;
	w->title_run = run;
	ws_damage_rect(c, ws_window_title_rect(c, w));
	return 0;
}

void ws_window_set_rect(ws_compositor *c, struct ws_window *w, struct ws_rect r)
{
	r.width = HV_MAX(1, HV_MIN(r.width, WS_MAX_WINDOW_SIDE));
	r.height = HV_MAX(1, HV_MIN(r.height, WS_MAX_WINDOW_SIDE));
	/* Positions far off the screen serve nobody and would overflow
	 * frame arithmetic. */
	r.x = HV_MAX(-WS_MAX_WINDOW_SIDE, HV_MIN(r.x, 2 * WS_MAX_WINDOW_SIDE));
	r.y = HV_MAX(-WS_MAX_WINDOW_SIDE, HV_MIN(r.y, 2 * WS_MAX_WINDOW_SIDE));
	if (r.width != w->rect.width || r.height != w->rect.height)
		w->prev_size = w->rect;
	ws_damage_window(c, w);
	w->rect = r;
	ws_damage_window(c, w);
}

void ws_window_set_minimized(ws_compositor *c, struct ws_window *w, bool minimized)
{
	if (w->minimized == minimized)
		return;
	ws_damage_window(c, w);
	w->minimized = minimized;
	ws_damage_window(c, w);
}

void ws_window_set_maximized(ws_compositor *c, struct ws_window *w, bool maximized)
{
	if (w->maximized == maximized)
		return;
	if (maximized) {
		int b = w->frameless ? 0 : c->theme->border_thickness;
		int t = w->frameless ? 0 : c->theme->title_height;
		w->restore_rect = w->rect;
		ws_window_set_rect(c, w, (struct ws_rect){b, b + t, c->width - 2 * b,
							  c->height - 2 * b - t});
	} else {
		ws_window_set_rect(c, w, w->restore_rect);
	}
	w->maximized = maximized;
}

/* --- geometry ------------------------------------------------------------ */
struct ws_rect ws_window_frame_rect(const ws_compositor *c, const struct ws_window *w)
{
	if (w->frameless)
		return w->rect;
	int b = c->theme->border_thickness, t = c->theme->title_height;
	return (struct ws_rect){w->rect.x - b, w->rect.y - t - b, w->rect.width + 2 * b,
				w->rect.height + t + 2 * b};
}

struct ws_rect ws_window_title_rect(const ws_compositor *c, const struct ws_window *w)
{
	if (w->frameless)
		return (struct ws_rect){0};
	int t = c->theme->title_height;
	return (struct ws_rect){w->rect.x, w->rect.y - t, w->rect.width, t};
}

struct ws_rect ws_window_button_rect(const ws_compositor *c, const struct ws_window *w,
				     enum ws_part button)
{
	if (w->frameless)
		return (struct ws_rect){0};
	struct ws_rect t = ws_window_title_rect(c, w);
	int bw = c->theme->title_button_width, bh = c->theme->title_button_height, gap = 2;
	int x = t.x + t.width - gap - bw, y = t.y + (t.height - bh) / 2;
	/* From the right: close, maximize (resizable), minimize (minimizable). */
	if (button == WS_PART_CLOSE)
		return (struct ws_rect){x, y, bw, bh};
	if (w->resizable) {
		x -= bw + gap;
		if (button == WS_PART_MAXIMIZE)
			return (struct ws_rect){x, y, bw, bh};
	}
	if (w->minimizable && button == WS_PART_MINIMIZE)
		return (struct ws_rect){x - bw - gap, y, bw, bh};
	return (struct ws_rect){0};
}

static bool rect_contains(struct ws_rect r, int x, int y)
{
	return x >= r.x && y >= r.y && x < (int64_t)r.x + r.width && y < (int64_t)r.y + r.height;
}

struct ws_window *ws_hit_test(ws_compositor *c, int x, int y, enum ws_part *part)
{
	static const enum ws_part buttons[] = {WS_PART_CLOSE, WS_PART_MAXIMIZE, WS_PART_MINIMIZE};
	for (struct ws_window *w = c->top; w; w = w->below) {
		if (w->minimized || !rect_contains(ws_window_frame_rect(c, w), x, y))
			continue;
		*part = WS_PART_BORDER;
		if (rect_contains(w->rect, x, y))
			*part = WS_PART_CONTENT;
		else if (rect_contains(ws_window_title_rect(c, w), x, y)) {
			*part = WS_PART_TITLE;
			for (size_t i = 0; i < HV_ARRAY_SIZE(buttons); i++)
				if (rect_contains(ws_window_button_rect(c, w, buttons[i]), x, y))
					*part = buttons[i];
		}
		return w;
	}
	*part = WS_PART_NONE;
	return NULL;
}

/* --- backing stores ------------------------------------------------------ */
int ws_store_map(struct ws_store *s, int fd, size_t size, uint32_t width, uint32_t height,
		 uint32_t stride, bool has_alpha, int32_t serial, const char **why)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;
	*why = NULL;
	if (seals < 0)
		*why = "not a memfd";
	else if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW))
		*why = "memfd not sealed against shrinking and growing";
	else if (fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size != size)
		*why = "memfd size differs from the bitmap's";
	else if (!width || !height || width > WS_MAX_WINDOW_SIDE || height > WS_MAX_WINDOW_SIDE)
		*why = "bitmap size out of range";
	else if (stride % 4 || (uint64_t)width * 4 > stride || (uint64_t)stride * height > size ||
		 stride > INT32_MAX)
		*why = "bitmap stride does not fit its width or its buffer";
	if (*why)
		return -EBADMSG;
	/* Read-only: the server can look, never write into a client's pixels. */
	void *data = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (data == MAP_FAILED) {
		*why = "cannot be mapped";
		return -errno;
	}
	pixman_image_t *img = pixman_image_create_bits_no_clear(
		has_alpha ? PIXMAN_a8r8g8b8 : PIXMAN_x8r8g8b8, (int)width, (int)height, data, (int)stride);
	if (!img) {
		munmap(data, size);
		return -ENOMEM;
	}
	*s = (struct ws_store){.fd = fd, .data = data, .size = size, .serial = serial,
			       .width = width, .height = height, .stride = stride,
			       .has_alpha = has_alpha, .image = img};
	return 0;
}

void ws_store_release(struct ws_store *s)
{
	if (s->image)
		pixman_image_unref(s->image);
	if (s->data)
		munmap(s->data, s->size);
	hv_close(&s->fd);
	*s = (struct ws_store){.fd = -1, .serial = -1};
}

void ws_window_push_store(struct ws_window *w, struct ws_store *s)
{
	ws_store_release(&w->previous);
	w->previous = w->current;
	w->current = *s;
	*s = (struct ws_store){.fd = -1, .serial = -1};
}

void ws_window_swap_stores(struct ws_window *w)
{
	struct ws_store t = w->current;
	w->current = w->previous;
	w->previous = t;
}

/* --- composition --------------------------------------------------------- */
static bool translucent(const struct ws_window *w)
{
	return w->has_alpha && w->current.image && w->current.has_alpha;
}

/* The glyph of a title button, as rects (button-relative), in *out. */
static size_t button_glyph(enum ws_part part, int bw, int bh, pixman_box32_t *out, size_t max)
{
	int s = HV_MIN(bw, bh) - 8; /* glyph side */
	if (s < 3)
		return 0;
	int x0 = (bw - s) / 2, y0 = (bh - s) / 2;
	size_t n = 0;
	switch (part) {
	case WS_PART_CLOSE: /* an X, two pixels thick */
		for (int i = 0; i < s && n + 2 <= max; i++) {
			out[n++] = (pixman_box32_t){x0 + i, y0 + i, x0 + i + 2, y0 + i + 1};
			out[n++] = (pixman_box32_t){x0 + s - i - 2, y0 + i, x0 + s - i, y0 + i + 1};
		}
		break;
	case WS_PART_MAXIMIZE: /* a window: thick top, thin sides */
		out[n++] = (pixman_box32_t){x0, y0, x0 + s, y0 + 2};
		out[n++] = (pixman_box32_t){x0, y0 + s - 1, x0 + s, y0 + s};
		out[n++] = (pixman_box32_t){x0, y0, x0 + 1, y0 + s};
		out[n++] = (pixman_box32_t){x0 + s - 1, y0, x0 + s, y0 + s};
		break;
	case WS_PART_MINIMIZE: /* a bar at the bottom */
		out[n++] = (pixman_box32_t){x0, y0 + s - 2, x0 + s, y0 + s};
		break;
	default:
		break;
	}
	return n;
}

static void paint_buttons(ws_compositor *c, const struct ws_window *w)
{
	static const enum ws_part buttons[] = {WS_PART_CLOSE, WS_PART_MAXIMIZE, WS_PART_MINIMIZE};
	pixman_color_t ink = color_of(c->theme->button_text);
	for (size_t i = 0; i < HV_ARRAY_SIZE(buttons); i++) {
		struct ws_rect b = ws_window_button_rect(c, w, buttons[i]);
		if (b.width <= 0)
			continue;
		fill(c, c->theme->button, b);
		pixman_box32_t boxes[2 * 64];
		size_t n = button_glyph(buttons[i], b.width, b.height, boxes, HV_ARRAY_SIZE(boxes));
		for (size_t k = 0; k < n; k++) {
			boxes[k].x1 += b.x, boxes[k].x2 += b.x;
			boxes[k].y1 += b.y, boxes[k].y2 += b.y;
		}
		if (n)
			pixman_image_fill_boxes(PIXMAN_OP_SRC, c->screen, &ink, (int)n, boxes);
	}
}

/* Borders, title bar, title and buttons, within w->clip_frame. */
static void paint_frame(ws_compositor *c, const struct ws_window *w)
{
	if (w->frameless || !pixman_region32_not_empty((pixman_region32_t *)&w->clip_frame))
		return;
	const struct ws_theme *t = c->theme;
	bool active = c->active == w;
	pixman_image_set_clip_region32(c->screen, (pixman_region32_t *)&w->clip_frame);
	fill(c, active ? t->active_border : t->inactive_border, ws_window_frame_rect(c, w));
	struct ws_rect title = ws_window_title_rect(c, w);
	fill(c, active ? t->active_title : t->inactive_title, title);
	/* The text stops before the leftmost button. */
	int max_x = title.x + title.width;
	static const enum ws_part buttons[] = {WS_PART_CLOSE, WS_PART_MAXIMIZE, WS_PART_MINIMIZE};
	for (size_t i = 0; i < HV_ARRAY_SIZE(buttons); i++) {
		struct ws_rect b = ws_window_button_rect(c, w, buttons[i]);
		if (b.width > 0)
			max_x = HV_MIN(max_x, b.x - 2);
	}
	if (c->font && w->title_run) {
		int asc, desc;
		ws_font_metrics(c->font, &asc, &desc);
		int baseline = title.y + (title.height + asc - desc) / 2;
		ws_glyph_run_draw(c->font, w->title_run, c->screen, title.x + 4, baseline, max_x,
				  active ? t->active_title_text : t->inactive_title_text);
	}
	paint_buttons(c, w);
}

/* The backing store within w->clip_content; what it does not cover (none
 * yet, or a size that lags a resize) in the theme's window colour. */
static void paint_content(ws_compositor *c, struct ws_window *w, pixman_op_t op)
{
	if (!pixman_region32_not_empty(&w->clip_content))
		return;
	pixman_image_set_clip_region32(c->screen, &w->clip_content);
	struct ws_rect r = w->rect;
	int sw = 0, sh = 0;
	if (w->current.image) {
		sw = HV_MIN((int)w->current.width, r.width);
		sh = HV_MIN((int)w->current.height, r.height);
		pixman_image_composite32(op, w->current.image, NULL, c->screen, 0, 0, 0, 0, r.x, r.y,
					 sw, sh);
		pixman_box32_t *e = pixman_region32_extents(&w->clip_content);
		c->pixels_written += (uint64_t)(e->x2 - e->x1) * (uint64_t)(e->y2 - e->y1);
	}
	fill(c, c->theme->window, (struct ws_rect){r.x + sw, r.y, r.width - sw, r.height});
	fill(c, c->theme->window, (struct ws_rect){r.x, r.y + sh, sw, r.height - sh});
}

/* Top-down: each window's share of the damage. Opaque parts remove what
 * they cover from the windows below, so nothing under them is painted. */
static void assign_clips(ws_compositor *c, pixman_region32_t *remaining)
{
	for (struct ws_window *w = c->top; w; w = w->below)
		w->visited = false;
	for (struct ws_window *w = c->top; w && pixman_region32_not_empty(remaining); w = w->below) {
		if (w->minimized)
			continue;
		w->visited = true;
		pixman_box32_t content = box_of(w->rect), frame = box_of(ws_window_frame_rect(c, w));
		pixman_region32_intersect_rect(&w->clip_content, remaining, content.x1, content.y1,
					       (unsigned)(content.x2 - content.x1),
					       (unsigned)(content.y2 - content.y1));
		pixman_region32_clear(&w->clip_frame);
		if (!w->frameless) {
			pixman_region32_intersect_rect(&w->clip_frame, remaining, frame.x1, frame.y1,
						       (unsigned)(frame.x2 - frame.x1),
						       (unsigned)(frame.y2 - frame.y1));
			pixman_region32_subtract(&w->clip_frame, &w->clip_frame, &w->clip_content);
		}
		if (c->naive) {
			/* The bench's baseline: everything painted, blended. */
			continue;
		}
		pixman_region32_subtract(remaining, remaining, &w->clip_frame);
		if (!translucent(w))
			pixman_region32_subtract(remaining, remaining, &w->clip_content);
	}
}

void ws_compose(ws_compositor *c, pixman_region32_t *flushed)
{
	struct ws_rect cur = cursor_rect(c);
	if (cur.width > 0 && pixman_region32_contains_rectangle(&c->damage, &(pixman_box32_t){
		cur.x, cur.y, cur.x + cur.width, cur.y + cur.height}) != PIXMAN_REGION_OUT)
		ws_damage_rect(c, cur); /* the cursor is redrawn whole, never blended twice */
	pixman_region32_t remaining;
	pixman_region32_init(&remaining);
	pixman_region32_copy(&remaining, &c->damage);
	pixman_region32_copy(flushed, &c->damage);
	pixman_region32_clear(&c->damage);

	assign_clips(c, &remaining);
	if (c->naive)
		pixman_region32_copy(&remaining, flushed);
	pixman_image_set_clip_region32(c->screen, &remaining);
	fill(c, c->theme->desktop_background, (struct ws_rect){0, 0, c->width, c->height});
	pixman_region32_fini(&remaining);
	for (struct ws_window *w = c->bottom; w; w = w->above) {
		if (!w->visited)
			continue;
		paint_frame(c, w);
		paint_content(c, w, translucent(w) || c->naive ? PIXMAN_OP_OVER : PIXMAN_OP_SRC);
	}
	pixman_image_set_clip_region32(c->screen, NULL);
	c->cursor_drawn = (struct ws_rect){0};
	if (cur.width > 0 && pixman_region32_contains_rectangle(flushed, &(pixman_box32_t){
		cur.x, cur.y, cur.x + cur.width, cur.y + cur.height}) != PIXMAN_REGION_OUT) {
		pixman_image_composite32(PIXMAN_OP_OVER, c->cursor, NULL, c->screen, 0, 0, 0, 0, cur.x,
					 cur.y, cur.width, cur.height);
		c->cursor_drawn = cur;
	}
	c->frames++;
}

bool ws_window_occluded(ws_compositor *c, const struct ws_window *w)
{
	if (w->minimized)
		return true;
	struct ws_rect f = ws_window_frame_rect(c, w);
	pixman_region32_t vis;
	pixman_region32_init_rect(&vis, f.x, f.y, (unsigned)f.width, (unsigned)f.height);
	pixman_region32_intersect_rect(&vis, &vis, 0, 0, (unsigned)c->width, (unsigned)c->height);
	for (struct ws_window *a = c->top; a && a != w; a = a->below) {
		if (a->minimized)
			continue;
		struct ws_rect af = translucent(a) ? ws_window_title_rect(c, a) : ws_window_frame_rect(c, a);
		pixman_region32_t r;
		pixman_region32_init_rect(&r, af.x, af.y, (unsigned)HV_MAX(af.width, 0),
					  (unsigned)HV_MAX(af.height, 0));
		pixman_region32_subtract(&vis, &vis, &r);
		pixman_region32_fini(&r);
	}
	bool occluded = !pixman_region32_not_empty(&vis);
	pixman_region32_fini(&vis);
	return occluded;
}
