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

void hv_image_options_default(hv_image_options *opt)
{
	*opt = (hv_image_options){
		.max_pixels = HV_IMAGE_MAX_PIXELS,
		.max_total_pixels = HV_IMAGE_MAX_TOTAL_PIXELS,
		.max_frames = HV_IMAGE_MAX_FRAMES,
	};
}

int hv_img_fail(hv_img_ctx *c, int code, const char *fmt, ...)
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

int hv_img_check_size(hv_img_ctx *c, uint64_t w, uint64_t h)
{
	if (w == 0 || h == 0)
		return hv_img_fail(c, HV_IMAGE_ECORRUPT, "image size %llux%llu is empty",
				   (unsigned long long)w, (unsigned long long)h);
	if (w > HV_IMAGE_MAX_DIMENSION || h > HV_IMAGE_MAX_DIMENSION || w * h > c->opt.max_pixels)
		return hv_img_fail(c, HV_IMAGE_ETOOLARGE,
				   "image too large: %llux%llu exceeds the limit of %llu pixels",
				   (unsigned long long)w, (unsigned long long)h,
				   (unsigned long long)c->opt.max_pixels);
	return 0;
}

int hv_img_set_size(hv_img_ctx *c, uint64_t w, uint64_t h)
{
	int r = hv_img_check_size(c, w, h);
	if (r < 0)
		return r;
	c->img->width = (uint32_t)w;
	c->img->height = (uint32_t)h;
	return 0;
}

int hv_img_check_cancel(hv_img_ctx *c)
{
	if (c->opt.cancel && *c->opt.cancel)
		return hv_img_fail(c, -ECANCELED, "decode cancelled");
	return 0;
}

int hv_img_add_frame(hv_img_ctx *c, uint32_t duration_ms, uint8_t **pixels)
{
	hv_image *img = c->img;
	uint64_t px = (uint64_t)img->width * img->height;
	int r = hv_img_check_cancel(c);
	if (r < 0)
		return r;
	if (px == 0)
		return hv_img_fail(c, HV_IMAGE_ECORRUPT, "frame before the image size is known");
	if (img->frame_count >= c->opt.max_frames)
		return hv_img_fail(c, HV_IMAGE_ETOOLARGE, "too many frames (limit %u)",
				   c->opt.max_frames);
	if (c->total_pixels + px > c->opt.max_total_pixels)
		return hv_img_fail(c, HV_IMAGE_ETOOLARGE,
				   "decoded frames exceed the limit of %llu pixels in all",
				   (unsigned long long)c->opt.max_total_pixels);
	if (img->frame_count == c->frame_cap) {
		uint32_t cap = c->frame_cap ? c->frame_cap * 2 : 4;
		hv_image_frame *f = realloc(img->frames, cap * sizeof(*f));
		if (!f)
			return hv_img_fail(c, -ENOMEM, "out of memory");
		img->frames = f;
		c->frame_cap = cap;
	}
	uint8_t *p = img->allocator.alloc(img->allocator.userdata, px * 4);
	if (!p)
		return hv_img_fail(c, -ENOMEM, "out of memory for a %ux%u frame", img->width,
				   img->height);
	img->frames[img->frame_count++] = (hv_image_frame){.pixels = p, .duration_ms = duration_ms};
	c->total_pixels += px;
	*pixels = p;
	return 0;
}

void *hv_img_scratch(hv_img_ctx *c, uint64_t w, uint64_t h, size_t bytes_per_px)
{
	if (hv_img_check_size(c, w, h) < 0)
		return NULL;
	void *p = malloc(w * h * bytes_per_px);
	if (!p)
		hv_img_fail(c, -ENOMEM, "out of memory");
	return p;
}

void hv_img_blend_over(uint8_t *dst, const uint8_t *src)
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

void hv_img_composite(uint8_t *canvas, uint32_t cw, const uint8_t *sub, uint32_t x, uint32_t y,
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
			hv_img_blend_over(d + i * 4, s + i * 4);
	}
}

void hv_img_clear_rect(uint8_t *canvas, uint32_t cw, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	for (uint32_t row = 0; row < h; row++)
		memset(canvas + ((size_t)(y + row) * cw + x) * 4, 0, (size_t)w * 4);
}

/* --- sniffing ------------------------------------------------------------ */

static bool looks_like_tga(const uint8_t *d, size_t len)
{
	/* TGA has no magic: besides sane fields, the never-used interleaving
	 * bits must be clear. */
	return hv_img_tga_header_ok(d, len) && (d[17] & 0xc0) == 0;
}

static const struct format {
	const char *name, *mime;
	int (*decode)(hv_img_ctx *c);
} formats[] = {
	{"png", "image/png", hv_img_decode_png},
	{"jpeg", "image/jpeg", hv_img_decode_jpeg},
	{"gif", "image/gif", hv_img_decode_gif},
	{"webp", "image/webp", hv_img_decode_webp},
	{"qoi", "image/qoi", hv_img_decode_qoi},
	{"bmp", "image/bmp", hv_img_decode_bmp},
	{"ico", "image/vnd.microsoft.icon", hv_img_decode_ico},
	{"cur", "image/x-win-bitmap", hv_img_decode_ico},
	{"pnm", "image/x-portable-anymap", hv_img_decode_pnm},
	{"tga", "image/x-tga", hv_img_decode_tga},
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
	    hv_rd_le16(d + 4) > 0)
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

bool hv_image_format_known(const char *name_or_mime)
{
	return format_by_name(name_or_mime) != NULL;
}

const char *hv_image_sniff(const uint8_t *data, size_t len)
{
	const struct format *f = sniff(data, len);
	return f ? f->name : NULL;
}

const char *hv_image_formats(void)
{
	return "png apng jpeg gif webp qoi bmp ico cur pbm pgm ppm pam tga";
}

void hv_image_free(hv_image *img)
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

int hv_image_decode(const uint8_t *data, size_t len, const hv_image_options *opt,
		    const hv_image_allocator *alloc, hv_image *out, hv_image_error *err)
{
	hv_image_error dummy;
	if (!err)
		err = &dummy;
	*err = (hv_image_error){0};
	*out = (hv_image){0};
	out->allocator = alloc ? *alloc : (hv_image_allocator){malloc_alloc, malloc_free, NULL};

	hv_img_ctx c = {.data = data, .len = len, .img = out, .err = err};
	if (opt)
		c.opt = *opt;
	else
		hv_image_options_default(&c.opt);

	const struct format *f = c.opt.force ? format_by_name(c.opt.force) : data ? sniff(data, len) : NULL;
	if (!f && !c.opt.force && c.opt.hint)
		f = format_by_name(c.opt.hint);
	if (!f) {
		if (len < 16)
			return hv_img_fail(&c, len == 0 ? HV_IMAGE_ETRUNCATED : HV_IMAGE_EUNSUPPORTED,
					   "%s", len == 0 ? "empty input" : "unrecognised image format");
		return hv_img_fail(&c, HV_IMAGE_EUNSUPPORTED, "unrecognised image format");
	}
	out->format = f->name;
	out->mime = f->mime;
	int r = f->decode(&c);
	if (r >= 0 && out->frame_count == 0)
		r = hv_img_fail(&c, HV_IMAGE_ECORRUPT, "%s: no image data", f->name);
	if (r < 0) {
		if (err->code == 0)
			hv_img_fail(&c, r, "%s: decoding failed", f->name);
		hv_image_free(out);
		return err->code;
	}
	out->animated = out->frame_count > 1 || out->animated;
	return 0;
}
