/* decoders.h — what decode.c shares with the per-format decoders (fmt-*.c):
 * the decode context, limit checks, frame allocation, byte readers and the
 * compositing used by every animated format. Not a public interface. */
#pragma once

#include <stdarg.h>
#include <string.h>

#include "image.h"

/* The colour space a decoder found in the image (colour.c). */
typedef struct img_colour {
	uint8_t *icc;	/* embedded ICC profile (malloc'd; decode.c frees it) */
	size_t icc_len;
	bool srgb;	/* PNG sRGB chunk */
	double gamma;	/* PNG gAMA: the file gamma (0.45455 for 1/2.2); 0 none */
	bool has_chrm;	/* PNG cHRM: white x,y then red, green, blue x,y */
	double chrm[8];
} img_colour;

typedef struct img_ctx {
	const uint8_t *data;
	size_t len;
	img_options opt;
	img_image *img;
	img_error *err;
	uint32_t frame_cap;
	uint64_t total_pixels;
	/* Final size wanted when a decoder already scaled (JPEG's DCT scaling
	 * gives only approximately the aspect ratio); 0 = derive it. */
	uint32_t target_w, target_h;
	/* Frames are only an intermediate to be scaled down: they live on the
	 * heap, and only the scaled frames come from the caller's allocator
	 * (the service's shared memory) — no full-size frame there, no copy. */
	bool heap_frames;
	img_colour colour;
} img_ctx;

/* The size w x h becomes when fitted inside the ideal size of c (aspect
 * kept, never larger than w x h). */
void img_fit(const img_ctx *c, uint32_t w, uint32_t h, uint32_t *tw, uint32_t *th);
/* Area-average a straight-alpha BGRA sw x sh image into dw x dh (dw <= sw,
 * dh <= sh); alpha weights the colours so transparent pixels add none. */
int img_downscale(const uint8_t *src, uint32_t sw, uint32_t sh, uint8_t *dst, uint32_t dw,
		     uint32_t dh);

/* Record the first failure (later ones keep the first reason) and return code. */
int img_fail(img_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* 0 when w x h is a decodable size, else a recorded IMG_E* error. */
int img_check_size(img_ctx *c, uint64_t w, uint64_t h);
/* Check and set the canvas size of the image. */
int img_set_size(img_ctx *c, uint64_t w, uint64_t h);
/* Append a frame of the canvas size; *pixels is uninitialised. */
int img_add_frame(img_ctx *c, uint32_t duration_ms, uint8_t **pixels);
/* Stream the one still frame (the canvas size) to the allocator's writer,
 * when it has one and nothing is to be done to the frame afterwards
 * (scaling; colour conversion is the caller's to rule out): 1 when the
 * frame is now streamed (write its rows with img_stream_rows, in
 * order), 0 when the caller must use img_add_frame, or an error. */
int img_stream_begin(img_ctx *c);
/* Rows [y, y + n) of the streamed frame, stride width * 4. */
int img_stream_rows(img_ctx *c, const uint8_t *rows, uint32_t y, uint32_t n);
/* -ECANCELED (recorded) once the caller's cancel flag is set, else 0. */
int img_check_cancel(img_ctx *c);

/* Scratch memory for decoders: the frame budget counts it too, so one
 * hostile header cannot make a scratch buffer bigger than a frame. */
void *img_scratch(img_ctx *c, uint64_t w, uint64_t h, size_t bytes_per_px);

static inline uint16_t img_rd_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t img_rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint16_t img_rd_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t img_rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Straight-alpha "source over" of one BGRA pixel onto another. */
void img_blend_over(uint8_t *dst, const uint8_t *src);
/* Composite a w x h BGRA sub-image at (x, y) of a canvas cw pixels wide,
 * replacing (blend false) or blending over (blend true). The caller has
 * checked that the rectangle lies inside the canvas. */
void img_composite(uint8_t *canvas, uint32_t cw, const uint8_t *sub, uint32_t x, uint32_t y,
		      uint32_t w, uint32_t h, bool blend);
/* Clear a rectangle of the canvas to transparent black. */
void img_clear_rect(uint8_t *canvas, uint32_t cw, uint32_t x, uint32_t y, uint32_t w, uint32_t h);

/* Convert every frame from c->colour's space to sRGB in place (nothing
 * when it says sRGB or nothing). */
int img_to_srgb(img_ctx *c);
/* A CMYK JPEG's rows to sRGB BGRA in place through its embedded CMYK
 * profile: NULL when there is none or lcms2 cannot use it (the caller
 * then converts naively); else the profile is consumed (c->colour.icc
 * freed and cleared). */
typedef struct img_cmyk img_cmyk;
img_cmyk *img_cmyk_begin(img_ctx *c, bool inverted, uint32_t w);
void img_cmyk_row(img_cmyk *k, uint8_t *row); /* w pixels */
void img_cmyk_end(img_cmyk *k);
/* Whether c->colour leaves the pixels as they are (img_to_srgb: nothing). */
bool img_colour_is_srgb(const img_ctx *c);

int img_decode_png(img_ctx *c);
int img_decode_jpeg(img_ctx *c);
int img_decode_gif(img_ctx *c);
int img_decode_webp(img_ctx *c);
int img_decode_qoi(img_ctx *c);
int img_decode_bmp(img_ctx *c);
int img_decode_ico(img_ctx *c);
int img_decode_tga(img_ctx *c);
/* The TGA header's fields are consistent (TGA has no magic number). */
bool img_tga_header_ok(const uint8_t *d, size_t len);
int img_decode_pnm(img_ctx *c);

/* BMP pixel data without its file header, as ICO/CUR embed it: DIB header
 * at dib[0], the AND mask after the XOR bitmap when is_icon. Decodes into
 * a fresh frame of the canvas size (which the caller has set). */
int img_decode_dib(img_ctx *c, const uint8_t *dib, size_t len, bool is_icon);
/* A PNG held in memory decoded into a malloc'd BGRA buffer (for ICO). */
int img_png_to_bgra(img_ctx *c, const uint8_t *data, size_t len, uint32_t *w, uint32_t *h,
		       uint8_t **out);
