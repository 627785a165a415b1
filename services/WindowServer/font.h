/* font.h — title text: shaped once by HarfBuzz when a title changes (a
 * glyph run), rasterised by FreeType once per glyph (a cache shared by all
 * windows), and drawn as a8 masks straight into the screen. */
#pragma once

#include <stdint.h>

#include <pixman.h>

struct ws_font;
struct ws_glyph_run;

/* Load a TrueType/OpenType file at `pixel_size`. The file is read into
 * memory whole, so nothing is opened again once the sandbox is entered. */
int ws_font_open(const char *path, int pixel_size, struct ws_font **out);
void ws_font_free(struct ws_font *f);
/* Another size (a theme with another title height): the glyph cache is
 * emptied; runs shaped before must be shaped again. */
int ws_font_set_size(struct ws_font *f, int pixel_size);
/* The font's ascent and descent in pixels (to centre a line). */
void ws_font_metrics(const struct ws_font *f, int *ascent, int *descent);

/* Shape UTF-8 text into a run (NULL text: an empty run). */
int ws_glyph_run_new(struct ws_font *f, const char *utf8, struct ws_glyph_run **out);
void ws_glyph_run_free(struct ws_glyph_run *run);
int ws_glyph_run_width(const struct ws_glyph_run *run);
/* Draw the run with its baseline origin at (x, y), in argb, into dst;
 * glyphs whose advance would pass max_x are not drawn (a title that does
 * not fit stops before the buttons). Honours dst's clip region. */
void ws_glyph_run_draw(struct ws_font *f, const struct ws_glyph_run *run, pixman_image_t *dst,
		       int x, int y, int max_x, uint32_t argb);
