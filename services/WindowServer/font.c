/* font.c — FreeType rasterises, HarfBuzz shapes; see font.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <ft2build.h>
#include FT_FREETYPE_H
#include <hb-ft.h>
#include <hb.h>

#include <haven/log.h>
#include <haven/util.h>

#include "font.h"

/* A rasterised glyph: an a8 mask and where it sits from the pen. */
struct glyph {
	uint32_t index;
	int left, top; /* bitmap_left, bitmap_top */
	pixman_image_t *mask; /* NULL for a blank glyph (space) */
	struct glyph *next;
};

#define GLYPH_BUCKETS 256u

struct ws_font {
	FT_Library lib;
	FT_Face face;
	hb_font_t *hb;
	uint8_t *data;
	int ascent, descent;
	struct glyph *buckets[GLYPH_BUCKETS];
};

struct ws_glyph_run {
	size_t count;
	int width;
	struct {
		uint32_t index;
		int x, y; /* pen position of this glyph, relative to the run */
	} glyphs[];
};

int ws_font_open(const char *path, int pixel_size, struct ws_font **out)
{
	_hv_free_ struct ws_font *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	size_t len = 0;
	int r = hv_read_file_at(AT_FDCWD, path, 0, 64u << 20, &f->data, &len);
	if (r < 0)
		return hv_log_errno(r, "cannot read font %s", path);
	if (FT_Init_FreeType(&f->lib)) {
		free(f->data);
		return -ENOMEM;
	}
	if (FT_New_Memory_Face(f->lib, f->data, (FT_Long)len, 0, &f->face) ||
	    FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixel_size)) {
		hv_log_error("%s: not a font FreeType can use at %d px", path, pixel_size);
		FT_Done_FreeType(f->lib);
		free(f->data);
		return -EINVAL;
	}
	f->hb = hb_ft_font_create_referenced(f->face);
	f->ascent = (int)(f->face->size->metrics.ascender >> 6);
	f->descent = (int)(-f->face->size->metrics.descender >> 6);
	*out = HV_TAKE_PTR(f);
	return 0;
}

static void cache_clear(struct ws_font *f)
{
	for (unsigned i = 0; i < GLYPH_BUCKETS; i++) {
		for (struct glyph *g = f->buckets[i], *next; g; g = next) {
			next = g->next;
			if (g->mask)
				pixman_image_unref(g->mask);
			free(g);
		}
		f->buckets[i] = NULL;
	}
}

void ws_font_free(struct ws_font *f)
{
	if (!f)
		return;
	cache_clear(f);
	hb_font_destroy(f->hb);
	FT_Done_Face(f->face);
	FT_Done_FreeType(f->lib);
	free(f->data);
	free(f);
}

void ws_font_metrics(const struct ws_font *f, int *ascent, int *descent)
{
	*ascent = f->ascent;
	*descent = f->descent;
}

static void free_bits(pixman_image_t *image, void *data)
{
	free(data);
}

/* The cached glyph, rasterised on first use; NULL when FreeType fails. */
static struct glyph *glyph_get(struct ws_font *f, uint32_t index)
{
	struct glyph **bucket = &f->buckets[index % GLYPH_BUCKETS];
	for (struct glyph *g = *bucket; g; g = g->next)
		if (g->index == index)
			return g;
	if (FT_Load_Glyph(f->face, index, FT_LOAD_RENDER | FT_LOAD_TARGET_LIGHT))
		return NULL;
	const FT_Bitmap *bm = &f->face->glyph->bitmap;
	struct glyph *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->index = index;
	g->left = f->face->glyph->bitmap_left;
	g->top = f->face->glyph->bitmap_top;
	if (bm->width && bm->rows && bm->pixel_mode == FT_PIXEL_MODE_GRAY) {
		/* pixman wants rows on 4-byte boundaries; FreeType's pitch may not be. */
		int stride = (int)HV_ALIGN_UP(bm->width, 4u);
		uint8_t *bits = calloc(bm->rows, (size_t)stride);
		if (bits) {
			for (unsigned y = 0; y < bm->rows; y++)
				memcpy(bits + (size_t)y * stride, bm->buffer + (ptrdiff_t)y * bm->pitch, bm->width);
			g->mask = pixman_image_create_bits_no_clear(PIXMAN_a8, (int)bm->width, (int)bm->rows,
								    (uint32_t *)bits, stride);
			if (g->mask)
				pixman_image_set_destroy_function(g->mask, free_bits, bits);
			else
				free(bits);
		}
	}
	g->next = *bucket;
	*bucket = g;
	return g;
}

int ws_glyph_run_new(struct ws_font *f, const char *utf8, struct ws_glyph_run **out)
{
	hb_buffer_t *buf = hb_buffer_create();
	if (!hb_buffer_allocation_successful(buf))
		return -ENOMEM;
	hb_buffer_add_utf8(buf, utf8 ? utf8 : "", -1, 0, -1);
	hb_buffer_guess_segment_properties(buf);
	hb_shape(f->hb, buf, NULL, 0);
	unsigned n = 0;
	const hb_glyph_info_t *info = hb_buffer_get_glyph_infos(buf, &n);
	const hb_glyph_position_t *pos = hb_buffer_get_glyph_positions(buf, NULL);
	struct ws_glyph_run *run = calloc(1, sizeof(*run) + n * sizeof(run->glyphs[0]));
	if (!run) {
		hb_buffer_destroy(buf);
		return -ENOMEM;
	}
	int x = 0, y = 0;
	for (unsigned i = 0; i < n; i++) {
		run->glyphs[i].index = info[i].codepoint;
		run->glyphs[i].x = x + (pos[i].x_offset >> 6);
		run->glyphs[i].y = y - (pos[i].y_offset >> 6);
		x += pos[i].x_advance >> 6;
		y -= pos[i].y_advance >> 6;
	}
	run->count = n;
	run->width = x;
	hb_buffer_destroy(buf);
	*out = run;
	return 0;
}

void ws_glyph_run_free(struct ws_glyph_run *run)
{
	free(run);
}

int ws_glyph_run_width(const struct ws_glyph_run *run)
{
	return run ? run->width : 0;
}

void ws_glyph_run_draw(struct ws_font *f, const struct ws_glyph_run *run, pixman_image_t *dst,
		       int x, int y, int max_x, uint32_t argb)
{
	if (!run || !run->count)
		return;
	pixman_color_t color = {
		.red = (uint16_t)(((argb >> 16) & 0xff) * 0x101),
		.green = (uint16_t)(((argb >> 8) & 0xff) * 0x101),
		.blue = (uint16_t)((argb & 0xff) * 0x101),
		.alpha = (uint16_t)((argb >> 24) * 0x101),
	};
	pixman_image_t *solid = pixman_image_create_solid_fill(&color);
	if (!solid)
		return;
	for (size_t i = 0; i < run->count; i++) {
		struct glyph *g = glyph_get(f, run->glyphs[i].index);
		if (!g || !g->mask)
			continue;
		int gx = x + run->glyphs[i].x + g->left, gy = y + run->glyphs[i].y - g->top;
		int gw = pixman_image_get_width(g->mask), gh = pixman_image_get_height(g->mask);
		if (gx + gw > max_x)
			break;
		pixman_image_composite32(PIXMAN_OP_OVER, solid, g->mask, dst, 0, 0, 0, 0, gx, gy, gw, gh);
	}
	pixman_image_unref(solid);
}

int ws_font_set_size(struct ws_font *f, int pixel_size)
{
	if (FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)pixel_size))
		return -EINVAL;
	hb_ft_font_changed(f->hb);
	f->ascent = (int)(f->face->size->metrics.ascender >> 6);
	f->descent = (int)(-f->face->size->metrics.descender >> 6);
	cache_clear(f); /* every cached glyph was rasterised at the old size */
	return 0;
}
