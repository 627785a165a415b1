/* fmt-bmp.c — BMP (core, INFO, V2-V5 and OS/2 headers; 1/4/8-bit palette,
 * 16/24/32-bit with or without bitfields, RLE4/RLE8, top-down) and ICO/CUR
 * (BMP- and PNG-embedded entries, best size chosen), written here because
 * no well-kept C library covers them. Every read goes through bounds
 * checks against the input; every error names the byte offset. */
#include <stdlib.h>

#include <haven/util.h>

#include "decoders.h"

#define BI_RGB 0
#define BI_RLE8 1
#define BI_RLE4 2
#define BI_BITFIELDS 3
#define BI_ALPHABITFIELDS 6

struct dib {
	const uint8_t *d; /* start of the DIB header */
	size_t len;       /* bytes from d to the end of the input */
	size_t base;      /* offset of d in the input, for messages */
	int32_t width, height;
	uint16_t bpp;
	uint32_t compression, colors;
	uint32_t mask[4]; /* R, G, B, A */
	bool top_down, is_icon, core;
	uint8_t pal[256][4];
	size_t pixels; /* offset of the pixel data from d */
};

struct field {
	uint32_t mask, shift, max;
};

static struct field field_of(uint32_t mask)
{
	struct field f = {mask, 0, 0};
	if (!mask)
		return f;
	f.shift = (uint32_t)__builtin_ctz(mask);
	uint32_t bits = (uint32_t)__builtin_popcount(mask >> f.shift);
	if (bits > 8) { /* keep the top 8 bits only */
		f.shift += bits - 8;
		f.mask = (mask >> (bits - 8)) << (bits - 8);
		bits = 8;
	}
	f.max = (1u << bits) - 1;
	return f;
}

static inline uint8_t field_get(const struct field *f, uint32_t v)
{
	if (!f->mask)
		return 0;
	uint32_t x = (v & f->mask) >> f->shift;
	return (uint8_t)((x * 255 + f->max / 2) / f->max);
}

static int parse_header(img_ctx *c, struct dib *b)
{
	if (b->len < 4)
		return img_fail(c, IMG_ETRUNCATED, "bmp: header truncated at byte %zu", b->base);
	uint32_t hsize = img_rd_le32(b->d);
	if (hsize == 12) {
		if (b->len < 12)
			return img_fail(c, IMG_ETRUNCATED, "bmp: header truncated at byte %zu", b->base);
		b->core = true;
		b->width = img_rd_le16(b->d + 4);
		b->height = (int16_t)img_rd_le16(b->d + 6);
		b->bpp = img_rd_le16(b->d + 10);
		b->compression = BI_RGB;
	} else if (hsize == 16 || hsize == 40 || hsize == 52 || hsize == 56 || hsize == 64 ||
		   hsize == 108 || hsize == 124) {
		if (b->len < hsize)
			return img_fail(c, IMG_ETRUNCATED, "bmp: header truncated at byte %zu", b->base);
		b->width = (int32_t)img_rd_le32(b->d + 4);
		b->height = (int32_t)img_rd_le32(b->d + 8);
		b->bpp = img_rd_le16(b->d + 14);
		b->compression = hsize >= 20 ? img_rd_le32(b->d + 16) : BI_RGB;
		b->colors = hsize >= 36 ? img_rd_le32(b->d + 32) : 0;
		if (hsize == 64 && b->compression == 3)
			return img_fail(c, IMG_EUNSUPPORTED, "bmp: OS/2 Huffman compression");
	} else {
		return img_fail(c, IMG_ECORRUPT, "bmp: unknown header size %u at byte %zu", hsize, b->base);
	}
	if (b->is_icon)
		b->height /= 2; /* XOR bitmap + AND mask */
	if (b->width <= 0 || b->height == 0 || b->height == INT32_MIN)
		return img_fail(c, IMG_ECORRUPT, "bmp: bad size %dx%d", b->width, b->height);
	b->top_down = b->height < 0;
	if (b->top_down)
		b->height = -b->height;

	switch (b->bpp) {
	case 1: case 4: case 8: case 16: case 24: case 32: break;
	default:
		return img_fail(c, IMG_ECORRUPT, "bmp: unsupported bit depth %u", b->bpp);
	}
	bool rle = b->compression == BI_RLE8 || b->compression == BI_RLE4;
	if ((b->compression == BI_RLE8 && b->bpp != 8) || (b->compression == BI_RLE4 && b->bpp != 4))
		return img_fail(c, IMG_ECORRUPT, "bmp: RLE with bit depth %u", b->bpp);
	if (rle && b->top_down)
		return img_fail(c, IMG_ECORRUPT, "bmp: RLE bitmaps cannot be top-down");
	if (b->compression > BI_BITFIELDS && b->compression != BI_ALPHABITFIELDS)
		return img_fail(c, IMG_EUNSUPPORTED, "bmp: compression %u (embedded JPEG/PNG) not supported",
				   b->compression);

	/* Masks: in the header from V2 on, else right after a 40-byte header. */
	size_t pos = hsize;
	bool fields = b->compression == BI_BITFIELDS || b->compression == BI_ALPHABITFIELDS;
	if (fields) {
		if (b->bpp != 16 && b->bpp != 32)
			return img_fail(c, IMG_ECORRUPT, "bmp: bitfields with bit depth %u", b->bpp);
		unsigned n = b->compression == BI_ALPHABITFIELDS ? 4 : 3;
		const uint8_t *m = b->d + 40;
		if (hsize == 40) {
			if (b->len < 40 + n * 4)
				return img_fail(c, IMG_ETRUNCATED, "bmp: bitfield masks truncated");
			pos += n * 4;
		} else if (hsize < 52) {
			return img_fail(c, IMG_ECORRUPT, "bmp: bitfields need an INFO header");
		}
		for (unsigned i = 0; i < 3; i++)
			b->mask[i] = img_rd_le32(m + i * 4);
		if ((hsize == 40 && n == 4) || hsize >= 56)
			b->mask[3] = img_rd_le32(m + 12);
	} else if (b->bpp == 16) {
		b->mask[0] = 0x7c00, b->mask[1] = 0x03e0, b->mask[2] = 0x001f;
	} else if (b->bpp >= 24) {
		b->mask[0] = 0xff0000, b->mask[1] = 0xff00, b->mask[2] = 0xff;
		/* V3+ headers may declare alpha for BI_RGB 32-bit too. */
		if (b->bpp == 32 && hsize >= 56)
			b->mask[3] = img_rd_le32(b->d + 52);
		if (b->bpp == 32 && (b->is_icon || b->mask[3] == 0))
			b->mask[3] = 0xff000000; /* used only if some alpha is non-zero (below) */
	}

	if (b->bpp <= 8) {
		uint32_t max = 1u << b->bpp, n = b->colors ? b->colors : max;
		size_t entry = b->core ? 3 : 4;
		if (n > 256)
			return img_fail(c, IMG_ECORRUPT, "bmp: %u palette entries", n);
		if (b->len < pos || (b->len - pos) / entry < n)
			return img_fail(c, IMG_ETRUNCATED, "bmp: palette truncated at byte %zu", b->base + pos);
		for (uint32_t i = 0; i < n; i++) {
			memcpy(b->pal[i], b->d + pos + i * entry, 3);
			b->pal[i][3] = 255;
		}
		/* Indices past the palette are black, as most decoders do. */
		for (uint32_t i = n; i < 256; i++)
			memcpy(b->pal[i], "\0\0\0\xff", 4);
		pos += (size_t)n * entry;
	}
	if (!b->pixels)
		b->pixels = pos;
	return img_set_size(c, (uint64_t)b->width, (uint64_t)b->height);
}

/* Row y of the output (0 = top) from stored row sy. */
static inline uint8_t *out_row(const struct dib *b, uint8_t *px, uint32_t sy)
{
	uint32_t y = b->top_down ? sy : (uint32_t)b->height - 1 - sy;
	return px + (size_t)y * (uint32_t)b->width * 4;
}

static int decode_rle(img_ctx *c, const struct dib *b, uint8_t *px)
{
	const uint8_t *p = b->d + b->pixels, *end = b->d + b->len;
	uint32_t W = (uint32_t)b->width, H = (uint32_t)b->height, x = 0, y = 0;
	bool rle4 = b->compression == BI_RLE4;
	memset(px, 0, (size_t)W * H * 4); /* skipped pixels stay transparent */
#define PUT(idx)                                                                               \
	do {                                                                                   \
		if (x < W && y < H)                                                            \
			memcpy(out_row(b, px, y) + x * 4, b->pal[(idx)], 4);                   \
		x++;                                                                           \
	} while (0)
	for (;;) {
		if (end - p < 2)
			return img_fail(c, IMG_ETRUNCATED, "bmp: RLE data ends at byte %zu", b->base + (size_t)(p - b->d));
		uint8_t n = p[0], v = p[1];
		p += 2;
		if (n > 0) {
			for (unsigned i = 0; i < n; i++)
				PUT(rle4 ? (i & 1 ? v & 15 : v >> 4) : v);
		} else if (v == 0) {
			x = 0;
			y++;
		} else if (v == 1) {
			return 0;
		} else if (v == 2) {
			if (end - p < 2)
				return img_fail(c, IMG_ETRUNCATED, "bmp: RLE delta truncated");
			x += p[0];
			y += p[1];
			p += 2;
		} else {
			size_t bytes = rle4 ? ((size_t)v + 1) / 2 : v;
			size_t padded = (bytes + 1) & ~(size_t)1;
			if ((size_t)(end - p) < padded)
				return img_fail(c, IMG_ETRUNCATED, "bmp: RLE literal run truncated at byte %zu",
						   b->base + (size_t)(p - b->d));
			for (unsigned i = 0; i < v; i++)
				PUT(rle4 ? (i & 1 ? p[i / 2] & 15 : p[i / 2] >> 4) : p[i]);
			p += padded;
		}
		if (y >= H)
			return 0; /* past the last row: nothing more can land */
	}
#undef PUT
}

static int decode_pixels(img_ctx *c, struct dib *b, uint8_t *px)
{
	if (b->compression == BI_RLE8 || b->compression == BI_RLE4)
		return decode_rle(c, b, px);
	uint32_t W = (uint32_t)b->width, H = (uint32_t)b->height;
	size_t stride = (((size_t)W * b->bpp + 31) / 32) * 4;
	if (b->pixels > b->len || (b->len - b->pixels) / stride < H)
		return img_fail(c, IMG_ETRUNCATED, "bmp: pixel data ends before row %zu",
				   b->pixels > b->len ? (size_t)0 : (b->len - b->pixels) / stride);
	struct field f[4] = {field_of(b->mask[0]), field_of(b->mask[1]), field_of(b->mask[2]), field_of(b->mask[3])};
	bool any_alpha = false;
	for (uint32_t sy = 0; sy < H; sy++) {
		const uint8_t *s = b->d + b->pixels + (size_t)sy * stride;
		uint8_t *o = out_row(b, px, sy);
		for (uint32_t x = 0; x < W; x++, o += 4) {
			uint32_t v;
			switch (b->bpp) {
			case 1: memcpy(o, b->pal[(s[x / 8] >> (7 - x % 8)) & 1], 4); continue;
			case 4: memcpy(o, b->pal[(s[x / 2] >> (x & 1 ? 0 : 4)) & 15], 4); continue;
			case 8: memcpy(o, b->pal[s[x]], 4); continue;
			case 16: v = img_rd_le16(s + x * 2); break;
			case 24: v = (uint32_t)s[x * 3] | (uint32_t)s[x * 3 + 1] << 8 | (uint32_t)s[x * 3 + 2] << 16; break;
			default: v = img_rd_le32(s + x * 4); break;
			}
			o[0] = field_get(&f[2], v);
			o[1] = field_get(&f[1], v);
			o[2] = field_get(&f[0], v);
			o[3] = f[3].mask ? field_get(&f[3], v) : 255;
			any_alpha |= o[3] != 0;
		}
	}
	/* An alpha channel that is zero everywhere is an unused one (common in
	 * 32-bit BI_RGB files): show the image opaque instead of invisible. */
	if (f[3].mask && !any_alpha)
		for (size_t i = 0; i < (size_t)W * H; i++)
			px[i * 4 + 3] = 255;
	else if (f[3].mask)
		b->mask[3] = 0xffffffffu; /* tell the icon code alpha is real */
	return 0;
}

static int decode_dib(img_ctx *c, struct dib *b)
{
	int r = parse_header(c, b);
	if (r < 0)
		return r;
	uint8_t *px;
	if ((r = img_add_frame(c, 0, &px)) < 0)
		return r;
	if ((r = decode_pixels(c, b, px)) < 0)
		return r;
	if (!b->is_icon || b->mask[3] == 0xffffffffu)
		return 0;
	/* Icons without real alpha: the 1-bit AND mask after the XOR bitmap. */
	uint32_t W = (uint32_t)b->width, H = (uint32_t)b->height;
	size_t xor_stride = (((size_t)W * b->bpp + 31) / 32) * 4, and_stride = ((W + 31) / 32) * 4;
	size_t off = b->pixels + xor_stride * H;
	if (off > b->len || (b->len - off) / and_stride < H)
		return 0; /* many icons omit the mask: opaque then */
	for (uint32_t sy = 0; sy < H; sy++) {
		const uint8_t *m = b->d + off + (size_t)sy * and_stride;
		uint8_t *o = out_row(b, px, sy);
		for (uint32_t x = 0; x < W; x++)
			if ((m[x / 8] >> (7 - x % 8)) & 1)
				memset(o + x * 4, 0, 4);
	}
	return 0;
}

int img_decode_bmp(img_ctx *c)
{
	if (c->len < 18)
		return img_fail(c, IMG_ETRUNCATED, "bmp: file header truncated");
	uint32_t off = img_rd_le32(c->data + 10);
	if (off < 14 + 12 || off > c->len)
		return img_fail(c, off > c->len ? IMG_ETRUNCATED : IMG_ECORRUPT,
				   "bmp: pixel data offset %u outside the file", off);
	struct dib b = {.d = c->data + 14, .len = c->len - 14, .base = 14, .pixels = off - 14};
	return decode_dib(c, &b);
}

int img_decode_dib(img_ctx *c, const uint8_t *dib, size_t len, bool is_icon)
{
	struct dib b = {.d = dib, .len = len, .base = (size_t)(dib - c->data), .is_icon = is_icon};
	return decode_dib(c, &b);
}

/* --- ICO / CUR --------------------------------------------------------------- */

int img_decode_ico(img_ctx *c)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if (c->len < 6)
		return img_fail(c, IMG_ETRUNCATED, "ico: header truncated");
	uint16_t count = img_rd_le16(c->data + 4);
	if (c->len < 6 + (size_t)count * 16)
		return img_fail(c, IMG_ETRUNCATED, "ico: directory of %u entries truncated", count);
	/* Best entry: the smallest at least as large as the wanted size, else
	 * the largest; ties go to the deeper colour. */
	uint64_t want = (uint64_t)c->opt.ideal_width * c->opt.ideal_height;
	int best = -1;
	uint64_t best_area = 0;
	unsigned best_bpp = 0;
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *e = c->data + 6 + i * 16;
		uint32_t size = img_rd_le32(e + 8), off = img_rd_le32(e + 12);
		if (off < 6 + (size_t)count * 16 || off >= c->len || size > c->len - off)
			continue;
		uint64_t area = (uint64_t)(e[0] ? e[0] : 256) * (e[1] ? e[1] : 256);
		unsigned bpp = c->data[2] == 1 ? img_rd_le16(e + 6) : 0;
		bool better;
		if (best < 0)
			better = true;
		else if (want && (area >= want) != (best_area >= want))
			better = area >= want;
		else if (area != best_area)
			better = want && area >= want ? area < best_area : area > best_area;
		else
			better = bpp > best_bpp;
		if (better) {
			best = (int)i;
			best_area = area;
			best_bpp = bpp;
		}
	}
	if (best < 0)
		return img_fail(c, IMG_ETRUNCATED, "ico: no entry lies inside the file");
	const uint8_t *e = c->data + 6 + best * 16;
	const uint8_t *d = c->data + img_rd_le32(e + 12);
	size_t len = img_rd_le32(e + 8);
	int r;
	if (len >= 8 && memcmp(d, png_sig, 8) == 0) {
		uint32_t w, h;
		uint8_t *rgba, *px;
		if ((r = img_png_to_bgra(c, d, len, &w, &h, &rgba)) < 0)
			return r;
		if ((r = img_set_size(c, w, h)) == 0 && (r = img_add_frame(c, 0, &px)) == 0)
			memcpy(px, rgba, (size_t)w * h * 4);
		free(rgba);
	} else {
		r = img_decode_dib(c, d, len, true);
	}
	if (r == 0 && c->data[2] == 2) {
		/* CUR puts the hotspot where ICO has planes and bit count. A
		 * hotspot outside the image is clamped to its edge. */
		img_image *img = c->img;
		img->has_hotspot = true;
		img->hotspot_x = HV_MIN((uint32_t)img_rd_le16(e + 4), img->width - 1);
		img->hotspot_y = HV_MIN((uint32_t)img_rd_le16(e + 6), img->height - 1);
	}
	return r;
}
