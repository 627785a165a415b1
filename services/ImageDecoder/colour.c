/* colour.c — decoded frames to sRGB with lcms2: the ICC profile a PNG
 * (iCCP) or JPEG (APP2 ICC_PROFILE) embeds, or the colour space a PNG's
 * gAMA/cHRM chunks describe. Applied in place to every BGRA frame after
 * decoding, before any scaling (which averages in the output space).
 * A CMYK JPEG's CMYK profile is applied row by row as it decodes
 * (img_cmyk_*). Not converted, taken as sRGB: images without such data,
 * a PNG with an sRGB chunk or a gAMA of 1/2.2 alone, profiles lcms2 cannot
 * read or that do not match the pixels (a CMYK JPEG without a CMYK
 * profile keeps the naive conversion). */
#include <lcms2.h>
#include <math.h>
#include <stdlib.h>

#include "decoders.h"

static const double srgb_chrm[8] = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};

/* A profile for PNG's gAMA/cHRM: the primaries and white point of cHRM
 * (sRGB's when absent) and a pure power curve of 1/gAMA (sRGB's curve when
 * absent). */
static cmsHPROFILE profile_from_chunks(cmsContext ctx, const img_colour *col)
{
	const double *ch = col->has_chrm ? col->chrm : srgb_chrm;
	cmsCIExyY white = {ch[0], ch[1], 1.0};
	cmsCIExyYTRIPLE prim = {{ch[2], ch[3], 1.0}, {ch[4], ch[5], 1.0}, {ch[6], ch[7], 1.0}};
	cmsToneCurve *curve;
	if (col->gamma > 0) {
		curve = cmsBuildGamma(ctx, 1.0 / col->gamma);
	} else {
		/* IEC 61966-2-1: parametric type 4. */
		static const double p[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
		curve = cmsBuildParametricToneCurve(ctx, 4, p);
	}
	if (!curve)
		return NULL;
	cmsToneCurve *curves[3] = {curve, curve, curve};
	cmsHPROFILE p = cmsCreateRGBProfileTHR(ctx, &white, &prim, curves);
	cmsFreeToneCurve(curve);
	return p;
}

/* Whether the PNG chunks say sRGB already (or close enough that viewers
 * show it as such): an sRGB chunk, none at all, or gAMA 1/2.2 (or none)
 * with sRGB's primaries (or none) — what ImageMagick and many encoders
 * write for sRGB images. */
static bool chunks_are_srgb(const img_colour *col)
{
	if (col->srgb)
		return true;
	if (col->gamma > 0 && fabs(col->gamma - 1 / 2.2) >= 0.0005)
		return false;
	for (int i = 0; col->has_chrm && i < 8; i++)
		if (fabs(col->chrm[i] - srgb_chrm[i]) >= 0.001)
			return false;
	return true;
}

static int convert(img_ctx *c, cmsContext ctx, cmsHPROFILE src)
{
	cmsColorSpaceSignature cs = cmsGetColorSpace(src);
	bool gray = cs == cmsSigGrayData;
	if (cs != cmsSigRgbData && !gray)
		return 0; /* documented: taken as sRGB */
	cmsHPROFILE dst = cmsCreate_sRGBProfileTHR(ctx);
	if (!dst)
		return img_fail(c, -ENOMEM, "out of memory for a colour transform");
	/* RGB: BGRA in place, alpha copied. Gray: the frames hold gray as equal
	 * B, G and R; one channel goes in, B, G, R come out (alpha stays). */
	cmsHTRANSFORM xf = gray ? cmsCreateTransformTHR(ctx, src, TYPE_GRAY_8, dst, TYPE_BGR_8, INTENT_PERCEPTUAL, 0)
				: cmsCreateTransformTHR(ctx, src, TYPE_BGRA_8, dst, TYPE_BGRA_8, INTENT_PERCEPTUAL,
							cmsFLAGS_COPY_ALPHA);
	cmsCloseProfile(dst);
	if (!xf)
		return 0; /* a profile lcms2 cannot use (e.g. no usable tags): as sRGB */
	img_image *img = c->img;
	uint32_t w = img->width;
	uint8_t *in = gray ? malloc(w) : NULL, *out = gray ? malloc((size_t)w * 3) : NULL;
	int r = 0;
	if (gray && (!in || !out))
		r = img_fail(c, -ENOMEM, "out of memory for a colour transform");
	for (uint32_t f = 0; f < img->frame_count && r == 0; f++) {
		for (uint32_t y = 0; y < img->height; y++) {
			uint8_t *row = img->frames[f].pixels + (size_t)y * w * 4;
			if (!gray) {
				cmsDoTransform(xf, row, row, w);
				continue;
			}
			for (uint32_t x = 0; x < w; x++)
				in[x] = row[x * 4];
			cmsDoTransform(xf, in, out, w);
			for (uint32_t x = 0; x < w; x++)
				memcpy(row + x * 4, out + x * 3, 3);
		}
		r = img_check_cancel(c);
	}
	free(in);
	free(out);
	cmsDeleteTransform(xf);
	return r;
}

/* lcms2 reports problems (a malformed profile) here; they only mean the
 * profile is not used. */
static void on_lcms_error(cmsContext ctx, cmsUInt32Number code, const char *text)
{
	(void)ctx;
	(void)code;
	(void)text;
}

bool img_colour_is_srgb(const img_ctx *c)
{
	return !c->colour.icc && chunks_are_srgb(&c->colour);
}

int img_to_srgb(img_ctx *c)
{
	img_colour *col = &c->colour;
	if (c->img->frame_count == 0 || img_colour_is_srgb(c))
		return 0;
	cmsContext ctx = cmsCreateContext(NULL, NULL);
	if (!ctx)
		return img_fail(c, -ENOMEM, "out of memory for a colour transform");
	cmsSetLogErrorHandlerTHR(ctx, on_lcms_error);
	int r = 0;
	/* An ICC profile outranks sRGB, which outranks gAMA/cHRM (PNG 3rd
	 * edition, 4.3). */
	cmsHPROFILE src = col->icc ? cmsOpenProfileFromMemTHR(ctx, col->icc, (cmsUInt32Number)col->icc_len)
				   : profile_from_chunks(ctx, col);
	if (src) {
		r = convert(c, ctx, src);
		cmsCloseProfile(src);
	}
	cmsDeleteContext(ctx);
	return r;
}

/* --- CMYK JPEG rows -------------------------------------------------- */

struct img_cmyk {
	cmsContext ctx;
	cmsHTRANSFORM xf;
	uint16_t *in, *out; /* one row: 16-bit CMYK in, 16-bit BGR out */
	uint32_t w;
};

img_cmyk *img_cmyk_begin(img_ctx *c, bool inverted, uint32_t w)
{
	img_colour *col = &c->colour;
	if (!col->icc)
		return NULL;
	img_cmyk *k = calloc(1, sizeof(*k));
	if (!k || !(k->ctx = cmsCreateContext(NULL, NULL))) {
		free(k);
		return NULL;
	}
	k->w = w;
	k->in = malloc(sizeof(uint16_t) * 4 * w);
	k->out = malloc(sizeof(uint16_t) * 3 * w);
	cmsSetLogErrorHandlerTHR(k->ctx, on_lcms_error);
	cmsHPROFILE src = cmsOpenProfileFromMemTHR(k->ctx, col->icc, (cmsUInt32Number)col->icc_len);
	cmsHPROFILE dst = cmsCreate_sRGBProfileTHR(k->ctx);
	if (src && dst && cmsGetColorSpace(src) == cmsSigCmykData)
		/* Adobe's CMYK JPEGs store 255 - ink: lcms2's "reversed" CMYK.
		 * 16 bits through the 4-D table: the 8-bit one is up to 16 off
		 * in dark tones (and unoptimised, exact, it costs ~0.4 us/px). */
		k->xf = cmsCreateTransformTHR(k->ctx, src, inverted ? TYPE_CMYK_16_REV : TYPE_CMYK_16, dst,
					      TYPE_BGR_16, INTENT_PERCEPTUAL, cmsFLAGS_HIGHRESPRECALC);
	if (src)
		cmsCloseProfile(src);
	if (dst)
		cmsCloseProfile(dst);
	if (!k->xf || !k->in || !k->out) {
		img_cmyk_end(k);
		return NULL;
	}
	/* The profile is applied here: nothing is left for img_to_srgb. */
	free(col->icc);
	col->icc = NULL;
	col->icc_len = 0;
	return k;
}

void img_cmyk_row(img_cmyk *k, uint8_t *row)
{
	for (uint32_t i = 0; i < k->w * 4; i++)
		k->in[i] = (uint16_t)(row[i] * 257);
	cmsDoTransform(k->xf, k->in, k->out, k->w);
	for (uint32_t x = 0; x < k->w; x++) {
		for (int i = 0; i < 3; i++)
			row[x * 4 + i] = (uint8_t)((k->out[x * 3 + i] * 255u + 32767) / 65535);
		row[x * 4 + 3] = 255;
	}
}

void img_cmyk_end(img_cmyk *k)
{
	if (!k)
		return;
	if (k->xf)
		cmsDeleteTransform(k->xf);
	cmsDeleteContext(k->ctx);
	free(k->in);
	free(k->out);
	free(k);
}
