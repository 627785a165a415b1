/* decode.c — entry point of the decoding core: sniff the content, enforce
 * the limits, hand over to the format's decoder, and the helpers they share
 * (frame allocation, compositing). */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include <haven/util.h>

#include "decoders.h"

static void *malloc_alloc(void *ud, size_t size)
{
	(void)ud;
	return malloc(size);
}
static void malloc_free(void *ud, void *p, size_t size)
{
	(void)ud;
	(void)size;
	free(p);
}

void img_options_default(img_options *opt)
{
	*opt = (img_options){
		.max_pixels = IMG_MAX_PIXELS,
		.max_total_pixels = IMG_MAX_TOTAL_PIXELS,
		.max_frames = IMG_MAX_FRAMES,
	};
}

int img_fail(img_ctx *c, int code, const char *fmt, ...)
{
	if (c->err && c->err->code == 0) {
		va_list ap;
		va_start(ap, fmt);
		c->err->code = code;
		vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

int img_check_size(img_ctx *c, uint64_t w, uint64_t h)
{
	if (w == 0 || h == 0)
		return img_fail(c, IMG_ECORRUPT, "image size %llux%llu is empty",
				   (unsigned long long)w, (unsigned long long)h);
	if (w > IMG_MAX_DIMENSION || h > IMG_MAX_DIMENSION || w * h > c->opt.max_pixels)
		return img_fail(c, IMG_ETOOLARGE,
				   "image too large: %llux%llu exceeds the limit of %llu pixels",
				   (unsigned long long)w, (unsigned long long)h,
				   (unsigned long long)c->opt.max_pixels);
	return 0;
}

int img_set_size(img_ctx *c, uint64_t w, uint64_t h)
{
	int r = img_check_size(c, w, h);
	if (r < 0)
		return r;
	c->img->width = (uint32_t)w;
	c->img->height = (uint32_t)h;
	return 0;
}

int img_check_cancel(img_ctx *c)
{
	if (c->opt.cancel && *c->opt.cancel)
		return img_fail(c, -ECANCELED, "decode cancelled");
	return 0;
}

/* img_stream_begin's stand-in allocator: a non-NULL nothing. */
static void *stream_placeholder(void *ud, size_t size)
{
	(void)ud;
	(void)size;
	static uint8_t none;
	return &none;
}

/* The size the decoded frames will be scaled to (their own when none). */
static void final_size(const img_ctx *c, uint32_t *tw, uint32_t *th)
{
	const img_image *img = c->img;
	*tw = c->target_w;
	*th = c->target_h;
	if (*tw == 0 || *th == 0)
		img_fit(c, img->width, img->height, tw, th);
	if (*tw > img->width)
		*tw = img->width;
	if (*th > img->height)
		*th = img->height;
}

static bool will_scale(const img_ctx *c)
{
	uint32_t tw, th;
	final_size(c, &tw, &th);
	return tw != c->img->width || th != c->img->height;
}

int img_add_frame(img_ctx *c, uint32_t duration_ms, uint8_t **pixels)
{
	img_image *img = c->img;
	uint64_t px = (uint64_t)img->width * img->height;
	int r = img_check_cancel(c);
	if (r < 0)
		return r;
	if (px == 0)
		return img_fail(c, IMG_ECORRUPT, "frame before the image size is known");
	if (img->frame_count >= c->opt.max_frames)
		return img_fail(c, IMG_ETOOLARGE, "too many frames (limit %u)",
				   c->opt.max_frames);
	if (c->total_pixels + px > c->opt.max_total_pixels)
		return img_fail(c, IMG_ETOOLARGE,
				   "decoded frames exceed the limit of %llu pixels in all",
				   (unsigned long long)c->opt.max_total_pixels);
	if (img->frame_count == c->frame_cap) {
		uint32_t cap = c->frame_cap ? c->frame_cap * 2 : 4;
		img_frame *f = realloc(img->frames, cap * sizeof(*f));
		if (!f)
			return img_fail(c, -ENOMEM, "out of memory");
		img->frames = f;
		c->frame_cap = cap;
	}
	if (img->frame_count == 0)
		c->heap_frames = will_scale(c);
	uint8_t *p = c->heap_frames ? malloc(px * 4) : img->allocator.alloc(img->allocator.userdata, px * 4);
	if (!p)
		return img_fail(c, -ENOMEM, "out of memory for a %ux%u frame", img->width,
				   img->height);
	img->frames[img->frame_count++] = (img_frame){.pixels = p, .duration_ms = duration_ms};
	c->total_pixels += px;
	*pixels = p;
	return 0;
}

int img_stream_begin(img_ctx *c)
{
	img_image *img = c->img;
	if (!img->allocator.stream_begin || !img->allocator.write || img->frame_count != 0 || will_scale(c))
		return 0;
	uint8_t *none;
	/* The limits and bookkeeping of img_add_frame, with no memory. */
	img_allocator keep = img->allocator;
	img->allocator.alloc = stream_placeholder;
	int r = img_add_frame(c, 0, &none);
	img->allocator = keep;
	if (r < 0)
		return r;
	img->frames[0].pixels = NULL;
	size_t size = (size_t)img->width * img->height * 4;
	if ((r = img->allocator.stream_begin(img->allocator.userdata, size)) < 0) {
		img->frame_count = 0;
		c->total_pixels = 0;
		return img_fail(c, r, "out of memory for a %ux%u frame", img->width, img->height);
	}
	img->streamed = true;
	return 1;
}

int img_stream_rows(img_ctx *c, const uint8_t *rows, uint32_t y, uint32_t n)
{
	img_image *img = c->img;
	size_t stride = (size_t)img->width * 4;
	int r = img->allocator.write(img->allocator.userdata, rows, stride * n, stride * y);
	return r < 0 ? img_fail(c, r, "could not write the frame: %s", strerror(-r)) : 0;
}

void *img_scratch(img_ctx *c, uint64_t w, uint64_t h, size_t bytes_per_px)
{
	if (img_check_size(c, w, h) < 0)
		return NULL;
	void *p = malloc(w * h * bytes_per_px);
	if (!p)
		img_fail(c, -ENOMEM, "out of memory");
	return p;
}

void img_blend_over(uint8_t *dst, const uint8_t *src)
{
	uint32_t sa = src[3], da = dst[3];
	if (sa == 255 || da == 0) {
		memcpy(dst, src, 4);
		return;
	}
	if (sa == 0)
		return;
	/* Work in 255*255 units so the result is exact up to one rounding. */
	uint32_t dw = da * (255 - sa);      /* weight of dst, in 255^2 */
	uint32_t oa = sa * 255 + dw;         /* out alpha, in 255^2 */
	for (int i = 0; i < 3; i++)
		dst[i] = (uint8_t)((src[i] * sa * 255 + dst[i] * dw + oa / 2) / oa);
	dst[3] = (uint8_t)((oa + 127) / 255);
}

void img_composite(uint8_t *canvas, uint32_t cw, const uint8_t *sub, uint32_t x, uint32_t y,
		      uint32_t w, uint32_t h, bool blend)
{
	for (uint32_t row = 0; row < h; row++) {
		uint8_t *d = canvas + ((size_t)(y + row) * cw + x) * 4;
		const uint8_t *s = sub + (size_t)row * w * 4;
		if (!blend) {
			memcpy(d, s, (size_t)w * 4);
			continue;
		}
		for (uint32_t i = 0; i < w; i++)
			img_blend_over(d + i * 4, s + i * 4);
	}
}

void img_clear_rect(uint8_t *canvas, uint32_t cw, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	for (uint32_t row = 0; row < h; row++)
		memset(canvas + ((size_t)(y + row) * cw + x) * 4, 0, (size_t)w * 4);
}

/* --- scaling to the ideal size --------------------------------------- */

void img_fit(const img_ctx *c, uint32_t w, uint32_t h, uint32_t *tw, uint32_t *th)
{
	uint64_t iw = c->opt.ideal_width, ih = c->opt.ideal_height;
	*tw = w;
	*th = h;
	if ((iw == 0 && ih == 0) || ((iw == 0 || w <= iw) && (ih == 0 || h <= ih)))
		return;
	/* The side with the smaller ratio ideal/actual binds; the other is
	 * rounded to keep the aspect ratio. */
	if (ih == 0 || (iw != 0 && iw * h <= ih * w)) {
		*tw = (uint32_t)iw;
		*th = (uint32_t)((h * iw + w / 2) / w);
	} else {
		*th = (uint32_t)ih;
		*tw = (uint32_t)((w * ih + h / 2) / h);
	}
	if (*tw == 0)
		*tw = 1;
	if (*th == 0)
		*th = 1;
}

/* Which source pixels cover each destination pixel, and by how much: in
 * units of 1/dn source pixel, destination pixel x spans [x*sn, (x+1)*sn),
 * so the weights are exact integers summing to sn. */
typedef struct span_map {
	uint32_t *first, *count, *weight; /* weight: concatenated per x */
} span_map;

static int span_map_init(span_map *m, uint32_t sn, uint32_t dn)
{
	m->first = malloc(sizeof(uint32_t) * dn);
	m->count = malloc(sizeof(uint32_t) * dn);
	m->weight = malloc(sizeof(uint32_t) * ((size_t)sn + dn));
	if (!m->first || !m->count || !m->weight)
		return -ENOMEM;
	size_t k = 0;
	for (uint64_t x = 0; x < dn; x++) {
		uint64_t lo = x * sn, hi = (x + 1) * sn;
		uint64_t i0 = lo / dn, i1 = (hi - 1) / dn;
		m->first[x] = (uint32_t)i0;
		m->count[x] = (uint32_t)(i1 - i0 + 1);
		for (uint64_t i = i0; i <= i1; i++) {
			uint64_t a = i * dn > lo ? i * dn : lo, b = (i + 1) * dn < hi ? (i + 1) * dn : hi;
			m->weight[k++] = (uint32_t)(b - a);
		}
	}
	return 0;
}

static void span_map_done(span_map *m)
{
	free(m->first);
	free(m->count);
	free(m->weight);
}

int img_downscale(const uint8_t *src, uint32_t sw, uint32_t sh, uint8_t *dst, uint32_t dw,
		  uint32_t dh)
{
	_hv_cleanup_(span_map_done) span_map mx = {0}, my = {0};
	_hv_free_ uint64_t *row = malloc(sizeof(uint64_t) * 4 * dw);
	_hv_free_ uint64_t *acc = malloc(sizeof(uint64_t) * 4 * dw);
	if (!row || !acc || span_map_init(&mx, sw, dw) < 0 || span_map_init(&my, sh, dh) < 0)
		return -ENOMEM;
	/* Sums stay exact in 64 bits: at most 255*255 * 65535*65535 < 2^48. */
	const uint64_t total = (uint64_t)sw * sh;
	size_t ky = 0;
	for (uint32_t y = 0; y < dh; y++) {
		memset(acc, 0, sizeof(uint64_t) * 4 * dw);
		for (uint32_t j = 0; j < my.count[y]; j++) {
			uint64_t wy = my.weight[ky + j];
			const uint8_t *s = src + (size_t)(my.first[y] + j) * sw * 4;
			size_t kx = 0;
			for (uint32_t x = 0; x < dw; x++) {
				const uint8_t *p = s + (size_t)mx.first[x] * 4;
				uint64_t b = 0, g = 0, rr = 0, a = 0;
				for (uint32_t i = 0; i < mx.count[x]; i++, p += 4) {
					/* Premultiplied: a transparent pixel adds no colour. */
					uint64_t wa = (uint64_t)mx.weight[kx + i] * p[3];
					b += wa * p[0];
					g += wa * p[1];
					rr += wa * p[2];
					a += wa;
				}
				kx += mx.count[x];
				row[x * 4 + 0] = b;
				row[x * 4 + 1] = g;
				row[x * 4 + 2] = rr;
				row[x * 4 + 3] = a;
			}
			for (size_t x = 0; x < (size_t)dw * 4; x++)
				acc[x] += wy * row[x];
		}
		ky += my.count[y];
		uint8_t *d = dst + (size_t)y * dw * 4;
		for (uint32_t x = 0; x < dw; x++, d += 4) {
			uint64_t a = acc[x * 4 + 3];
			for (int k = 0; k < 3; k++)
				d[k] = a ? (uint8_t)((acc[x * 4 + k] + a / 2) / a) : 0;
			d[3] = (uint8_t)((a + total / 2) / total);
		}
	}
	return 0;
}

/* Replace every frame of the decoded image by its downscaled version,
 * allocated with the caller's allocator (the full-size frames were on the
 * heap when c->heap_frames: they are freed here). */
static int scale_to_ideal(img_ctx *c)
{
	img_image *img = c->img;
	uint32_t tw, th;
	final_size(c, &tw, &th);
	if (tw == img->width && th == img->height && !c->heap_frames)
		return 0;
	size_t old = (size_t)img->width * img->height * 4, new = (size_t)tw * th * 4;
	/* All new frames first: on failure the image keeps one size for all
	 * its frames, as img_free needs. */
	uint8_t **scaled = calloc(img->frame_count, sizeof(*scaled));
	if (!scaled)
		return img_fail(c, -ENOMEM, "out of memory");
	int r = 0;
	for (uint32_t i = 0; i < img->frame_count && r == 0; i++) {
		scaled[i] = img->allocator.alloc(img->allocator.userdata, new);
		if (!scaled[i])
			r = img_fail(c, -ENOMEM, "out of memory for a %ux%u frame", tw, th);
		else if (new == old)
			memcpy(scaled[i], img->frames[i].pixels, new); /* not reached: heap_frames means smaller */
		else if ((r = img_downscale(img->frames[i].pixels, img->width, img->height,
					       scaled[i], tw, th)) < 0)
			img_fail(c, r, "out of memory scaling to %ux%u", tw, th);
	}
	for (uint32_t i = 0; i < img->frame_count; i++) {
		if (r < 0) {
			if (scaled[i])
				img->allocator.free(img->allocator.userdata, scaled[i], new);
			continue;
		}
		if (c->heap_frames)
			free(img->frames[i].pixels);
		else
			img->allocator.free(img->allocator.userdata, img->frames[i].pixels, old);
		img->frames[i].pixels = scaled[i];
	}
	free(scaled);
	if (r < 0)
		return r;
	c->heap_frames = false;
	if (img->has_hotspot) { /* the source pixel's destination pixel */
		img->hotspot_x = (uint32_t)((uint64_t)img->hotspot_x * tw / img->width);
		img->hotspot_y = (uint32_t)((uint64_t)img->hotspot_y * th / img->height);
	}
	img->width = tw;
	img->height = th;
	return 0;
}

/* --- sniffing ------------------------------------------------------------ */

static bool looks_like_tga(const uint8_t *d, size_t len)
{
	/* TGA has no magic: besides sane fields, the never-used interleaving
	 * bits must be clear. */
	return img_tga_header_ok(d, len) && (d[17] & 0xc0) == 0;
}

static const struct format {
	const char *name, *mime;
	int (*decode)(img_ctx *c);
} formats[] = {
	{"png", "image/png", img_decode_png},
	{"jpeg", "image/jpeg", img_decode_jpeg},
	{"gif", "image/gif", img_decode_gif},
	{"webp", "image/webp", img_decode_webp},
	{"qoi", "image/qoi", img_decode_qoi},
	{"bmp", "image/bmp", img_decode_bmp},
	{"ico", "image/vnd.microsoft.icon", img_decode_ico},
	{"cur", "image/x-win-bitmap", img_decode_ico},
	{"pnm", "image/x-portable-anymap", img_decode_pnm},
	{"tga", "image/x-tga", img_decode_tga},
};

static const struct format *sniff(const uint8_t *d, size_t n)
{
	static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	if (n >= 8 && memcmp(d, png_sig, 8) == 0)
		return &formats[0];
	if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return &formats[1];
	if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0))
		return &formats[2];
	if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
		return &formats[3];
	if (n >= 4 && memcmp(d, "qoif", 4) == 0)
		return &formats[4];
	if (n >= 2 && d[0] == 'B' && d[1] == 'M')
		return &formats[5];
	if (n >= 6 && d[0] == 0 && d[1] == 0 && (d[2] == 1 || d[2] == 2) && d[3] == 0 &&
	    img_rd_le16(d + 4) > 0)
		return &formats[d[2] == 1 ? 6 : 7];
	if (n >= 3 && d[0] == 'P' && d[1] >= '1' && d[1] <= '7' &&
	    (d[2] == ' ' || d[2] == '\t' || d[2] == '\n' || d[2] == '\r' || d[2] == '#'))
		return &formats[8];
	if (looks_like_tga(d, n))
		return &formats[9];
	return NULL;
}

static const struct format *format_by_name(const char *name)
{
	static const struct {
		const char *alias;
		int index;
	} aliases[] = {
		{"apng", 0}, {"image/apng", 0}, {"jpg", 1}, {"image/jpg", 1}, {"image/x-icon", 6},
		{"image/x-cursor", 7}, {"pbm", 8}, {"pgm", 8}, {"ppm", 8}, {"pam", 8},
		{"image/x-portable-bitmap", 8}, {"image/x-portable-graymap", 8},
		{"image/x-portable-pixmap", 8}, {"image/x-portable-arbitrarymap", 8},
		{"image/x-targa", 9}, {"image/tga", 9},
	};
	if (!name)
		return NULL;
	for (size_t i = 0; i < HV_ARRAY_SIZE(formats); i++)
		if (strcasecmp(name, formats[i].name) == 0 || strcasecmp(name, formats[i].mime) == 0)
			return &formats[i];
	for (size_t i = 0; i < HV_ARRAY_SIZE(aliases); i++)
		if (strcasecmp(name, aliases[i].alias) == 0)
			return &formats[aliases[i].index];
	return NULL;
}

bool img_format_known(const char *name_or_mime)
{
	return format_by_name(name_or_mime) != NULL;
}

const char *img_sniff(const uint8_t *data, size_t len)
{
	const struct format *f = sniff(data, len);
	return f ? f->name : NULL;
}

const char *img_formats(void)
{
	return "png apng jpeg gif webp qoi bmp ico cur pbm pgm ppm pam tga";
}

void img_free(img_image *img)
{
	if (!img)
		return;
	size_t px = (size_t)img->width * img->height;
	for (uint32_t i = 0; i < img->frame_count; i++)
		img->allocator.free(img->allocator.userdata, img->frames[i].pixels, px * 4);
	free(img->frames);
	img->frames = NULL;
	img->frame_count = 0;
}

int img_decode(const uint8_t *data, size_t len, const img_options *opt,
		    const img_allocator *alloc, img_image *out, img_error *err)
{
	img_error dummy;
	if (!err)
		err = &dummy;
	*err = (img_error){0};
	*out = (img_image){0};
	out->allocator = alloc ? *alloc : (img_allocator){.alloc = malloc_alloc, .free = malloc_free};

	img_ctx c = {.data = data, .len = len, .img = out, .err = err};
	if (opt)
		c.opt = *opt;
	else
		img_options_default(&c.opt);

	const struct format *f = c.opt.force ? format_by_name(c.opt.force) : data ? sniff(data, len) : NULL;
	if (!f && !c.opt.force && c.opt.hint)
		f = format_by_name(c.opt.hint);
	if (!f) {
		if (len < 16)
			return img_fail(&c, len == 0 ? IMG_ETRUNCATED : IMG_EUNSUPPORTED,
					   "%s", len == 0 ? "empty input" : "unrecognised image format");
		return img_fail(&c, IMG_EUNSUPPORTED, "unrecognised image format");
	}
	out->format = f->name;
	out->mime = f->mime;
	int r = f->decode(&c);
	if (r >= 0 && out->frame_count == 0)
		r = img_fail(&c, IMG_ECORRUPT, "%s: no image data", f->name);
	if (r >= 0)
		r = img_to_srgb(&c);
	free(c.colour.icc);
	if (r >= 0)
		r = scale_to_ideal(&c);
	if (r < 0) {
		if (err->code == 0)
			img_fail(&c, r, "%s: decoding failed", f->name);
		if (c.heap_frames)
			for (uint32_t i = 0; i < out->frame_count; i++) {
				free(out->frames[i].pixels);
				out->frames[i].pixels = NULL;
			}
		img_free(out);
		return err->code;
	}
	out->animated = out->frame_count > 1 || out->animated;
	return 0;
}
