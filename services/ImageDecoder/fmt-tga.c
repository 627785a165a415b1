/* fmt-tga.c — Truevision TGA: true-colour (15/16/24/32-bit), grayscale
 * (8-bit, 16-bit with alpha), colour-mapped, each raw or RLE, any origin.
 * Written here (no well-kept C library for it), bounds-checked throughout. */
#include <stdlib.h>

#include "decoders.h"

struct tga {
	const uint8_t *p, *end;
	uint8_t type, depth, alpha_bits;
	uint8_t pal_depth;
	uint32_t pal_first, pal_len;
	const uint8_t *pal;
};

static inline uint8_t scale5(uint32_t v) { return (uint8_t)((v * 255 + 15) / 31); }

/* One pixel value of `depth` bits at s into BGRA. */
static void tga_color(uint8_t depth, uint8_t alpha_bits, bool gray, const uint8_t *s, uint8_t *o)
{
	if (gray) {
		o[0] = o[1] = o[2] = s[0];
		o[3] = depth == 16 ? s[1] : 255;
		return;
	}
	switch (depth) {
	case 15:
	case 16: {
		uint32_t v = img_rd_le16(s);
		o[0] = scale5(v & 31);
		o[1] = scale5((v >> 5) & 31);
		o[2] = scale5((v >> 10) & 31);
		o[3] = depth == 16 && alpha_bits == 1 ? (v & 0x8000 ? 255 : 0) : 255;
		break;
	}
	case 24:
		o[0] = s[0], o[1] = s[1], o[2] = s[2], o[3] = 255;
		break;
	default:
		o[0] = s[0], o[1] = s[1], o[2] = s[2];
		o[3] = alpha_bits ? s[3] : 255;
		break;
	}
}

/* Convert one stored pixel (t->depth bits at s) to BGRA; -1 on a bad index. */
static int tga_pixel(const struct tga *t, const uint8_t *s, uint8_t *o)
{
	uint8_t base = t->type & 7;
	if (base == 1) {
		uint32_t idx = t->depth == 16 ? img_rd_le16(s) : s[0];
		if (idx < t->pal_first || idx - t->pal_first >= t->pal_len)
			return -1;
		size_t bpe = (t->pal_depth + 7) / 8;
		tga_color(t->pal_depth, t->pal_depth == 32 ? 8 : t->alpha_bits, false,
			  t->pal + (idx - t->pal_first) * bpe, o);
		return 0;
	}
	tga_color(t->depth, t->alpha_bits, base == 3, s, o);
	return 0;
}

bool img_tga_header_ok(const uint8_t *d, size_t len)
{
	if (len < 18)
		return false;
	uint8_t cmap_type = d[1], type = d[2], depth = d[16], cmap_depth = d[7];
	if (cmap_type > 1)
		return false;
	if (!(type == 1 || type == 2 || type == 3 || type == 9 || type == 10 || type == 11))
		return false;
	if ((type == 1 || type == 9) != (cmap_type == 1))
		return false;
	if (cmap_type == 1 && !(cmap_depth == 15 || cmap_depth == 16 || cmap_depth == 24 || cmap_depth == 32))
		return false;
	if (!(depth == 8 || depth == 15 || depth == 16 || depth == 24 || depth == 32))
		return false;
	return img_rd_le16(d + 12) != 0 && img_rd_le16(d + 14) != 0;
}

int img_decode_tga(img_ctx *c)
{
	const uint8_t *d = c->data;
	if (!img_tga_header_ok(d, c->len))
		return img_fail(c, c->len < 18 ? IMG_ETRUNCATED : IMG_ECORRUPT, "tga: bad header");
	struct tga t = {.type = d[2], .depth = d[16], .alpha_bits = d[17] & 15, .end = d + c->len};
	uint32_t W = img_rd_le16(d + 12), H = img_rd_le16(d + 14);
	bool right_to_left = d[17] & 0x10, top_down = d[17] & 0x20;
	uint8_t base = t.type & 7;
	if (base == 1 && t.depth != 8 && t.depth != 16)
		return img_fail(c, IMG_ECORRUPT, "tga: colour-mapped image with %u-bit indices", t.depth);
	if (base == 3 && t.depth != 8 && t.depth != 16)
		return img_fail(c, IMG_ECORRUPT, "tga: grayscale image with %u bits", t.depth);
	if (base == 2 && t.depth == 8)
		return img_fail(c, IMG_ECORRUPT, "tga: true-colour image with 8 bits");
	int r = img_set_size(c, W, H);
	if (r < 0)
		return r;
	size_t pos = 18 + (size_t)d[0];
	if (d[1] == 1) {
		t.pal_first = img_rd_le16(d + 3);
		t.pal_len = img_rd_le16(d + 5);
		t.pal_depth = d[7];
		size_t bytes = (size_t)t.pal_len * ((t.pal_depth + 7) / 8);
		if (pos > c->len || c->len - pos < bytes)
			return img_fail(c, IMG_ETRUNCATED, "tga: colour map truncated at byte %zu", pos);
		t.pal = d + pos;
		pos += bytes;
	}
	if (pos > c->len)
		return img_fail(c, IMG_ETRUNCATED, "tga: header truncated");
	t.p = d + pos;

	uint8_t *px;
	if ((r = img_add_frame(c, 0, &px)) < 0)
		return r;
	size_t bpp = (t.depth + 7) / 8, n = (size_t)W * H;
	bool rle = t.type >= 9;
	uint8_t cur[4] = {0};
	size_t run = 0;	    /* pixels left in the current packet */
	bool repeat = false; /* current packet is a run of one value */
	for (size_t i = 0; i < n; i++) {
		if (rle && run == 0) {
			if (t.p >= t.end)
				return img_fail(c, IMG_ETRUNCATED, "tga: RLE data ends at pixel %zu", i);
			repeat = *t.p & 0x80;
			run = (*t.p++ & 0x7f) + 1u;
			if (repeat) {
				if ((size_t)(t.end - t.p) < bpp)
					return img_fail(c, IMG_ETRUNCATED, "tga: RLE data ends at pixel %zu", i);
				if (tga_pixel(&t, t.p, cur) < 0)
					return img_fail(c, IMG_ECORRUPT, "tga: colour index out of range at byte %zu",
							   (size_t)(t.p - d));
				t.p += bpp;
			}
		}
		if (!rle || !repeat) {
			if ((size_t)(t.end - t.p) < bpp)
				return img_fail(c, IMG_ETRUNCATED, "tga: pixel data ends at pixel %zu", i);
			if (tga_pixel(&t, t.p, cur) < 0)
				return img_fail(c, IMG_ECORRUPT, "tga: colour index out of range at byte %zu",
						   (size_t)(t.p - d));
			t.p += bpp;
		}
		if (rle)
			run--;
		size_t sx = i % W, sy = i / W;
		size_t x = right_to_left ? W - 1 - sx : sx, y = top_down ? sy : H - 1 - sy;
		memcpy(px + (y * W + x) * 4, cur, 4);
		if (sx == 0 && (r = img_check_cancel(c)) < 0)
			return r;
	}
	return 0;
}
