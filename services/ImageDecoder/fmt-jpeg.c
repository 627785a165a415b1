/* fmt-jpeg.c — JPEG through libjpeg-turbo: baseline, progressive,
 * grayscale, CMYK/YCCK (Adobe inverted or not), and EXIF orientation,
 * which is applied (the found value is reported in img_image.orientation). */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h> /* after stdio.h: it uses FILE and size_t */
#include <jerror.h>

#include <haven/util.h>

#include "decoders.h"

/* Progressive JPEGs may carry any number of scans, each a full pass over
 * the coefficients: a tiny file could burn minutes. Real encoders use < 20. */
#define JPEG_MAX_SCANS 1000

struct jerr {
	struct jpeg_error_mgr mgr;
	jmp_buf jmp;
	img_ctx *c;
	bool truncated;
	struct jpeg_progress_mgr progress;
};

static void jpeg_on_error(j_common_ptr cinfo)
{
	struct jerr *e = (struct jerr *)cinfo->err;
	char msg[JMSG_LENGTH_MAX];
	e->mgr.format_message(cinfo, msg);
	if (!e->c->err || e->c->err->code == 0)
		img_fail(e->c, e->truncated ? IMG_ETRUNCATED : IMG_ECORRUPT, "jpeg: %s", msg);
	longjmp(e->jmp, 1);
}

static void jpeg_on_message(j_common_ptr cinfo, int level)
{
	struct jerr *e = (struct jerr *)cinfo->err;
	/* Level -1 is a warning about corrupt data. The data ending early is
	 * the one we refuse: the rest of the image would be made up (libjpeg
	 * fills it with grey). It ends early either at the end of the input
	 * (JWRN_JPEG_EOF) or at a marker, typically EOI, met before the scan
	 * had all its data (JWRN_HIT_MARKER, "premature end of data segment":
	 * a header claiming 8000x8000 over 64x64 of data). */
	if (level < 0 && (e->mgr.msg_code == JWRN_JPEG_EOF || e->mgr.msg_code == JWRN_HIT_MARKER)) {
		e->truncated = true;
		img_fail(e->c, IMG_ETRUNCATED, "jpeg: data ends before the image does");
		longjmp(e->jmp, 1);
	}
}

static void jpeg_on_progress(j_common_ptr cinfo)
{
	struct jerr *e = (struct jerr *)cinfo->err;
	j_decompress_ptr d = (j_decompress_ptr)cinfo;
	if (d->input_scan_number > JPEG_MAX_SCANS) {
		img_fail(e->c, IMG_ETOOLARGE, "jpeg: more than %d scans", JPEG_MAX_SCANS);
		longjmp(e->jmp, 1);
	}
	if (img_check_cancel(e->c) < 0)
		longjmp(e->jmp, 1);
}

/* EXIF orientation (tag 0x0112 of IFD0), 0 when absent or unreadable. */
static uint8_t exif_orientation(const uint8_t *d, size_t n)
{
	if (n < 14 || memcmp(d, "Exif\0\0", 6) != 0)
		return 0;
	d += 6;
	n -= 6;
	bool le = d[0] == 'I' && d[1] == 'I';
	if (!le && !(d[0] == 'M' && d[1] == 'M'))
		return 0;
#define RD16(p) (le ? img_rd_le16(p) : img_rd_be16(p))
#define RD32(p) (le ? img_rd_le32(p) : img_rd_be32(p))
	uint32_t ifd = RD32(d + 4);
	if (ifd > n - 2 || n < 2)
		return 0;
	uint32_t count = RD16(d + ifd);
	for (uint32_t i = 0; i < count; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		if (e + 12 > n)
			return 0;
		if (RD16(d + e) == 0x0112 && RD16(d + e + 2) == 3) {
			uint16_t v = RD16(d + e + 8);
			return v >= 1 && v <= 8 ? (uint8_t)v : 0;
		}
	}
	return 0;
#undef RD16
#undef RD32
}

/* out(x, y) = src(sx, sy) for the 8 EXIF orientations. */
static void apply_orientation(uint8_t o, const uint32_t *src, uint32_t w, uint32_t h, uint32_t *dst)
{
	uint32_t ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
	for (uint32_t y = 0; y < oh; y++) {
		for (uint32_t x = 0; x < ow; x++) {
			uint32_t sx, sy;
			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;
			case 4: sx = x; sy = h - 1 - y; break;
			case 5: sx = y; sy = x; break;
			case 6: sx = y; sy = h - 1 - x; break;
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;
			case 8: sx = w - 1 - y; sy = x; break;
			default: sx = x; sy = y; break;
			}
			dst[(size_t)y * ow + x] = src[(size_t)sy * w + sx];
		}
	}
}

static void cmyk_to_bgra(uint8_t *row, uint32_t w, bool inverted)
{
	/* In place: 4 bytes in, 4 bytes out. Adobe writes CMYK inverted. */
	for (uint32_t i = 0; i < w; i++) {
		uint8_t *p = row + (size_t)i * 4;
		uint32_t C = p[0], M = p[1], Y = p[2], K = p[3];
		if (!inverted) {
			C = 255 - C;
			M = 255 - M;
			Y = 255 - Y;
			K = 255 - K;
		}
		p[0] = (uint8_t)((Y * K + 127) / 255);
		p[1] = (uint8_t)((M * K + 127) / 255);
		p[2] = (uint8_t)((C * K + 127) / 255);
		p[3] = 255;
	}
}

/* One CMYK row to BGRA: through its profile when it has one. */
static void cmyk_row(img_cmyk *profile, uint8_t *row, uint32_t w, bool inverted)
{
	if (profile)
		img_cmyk_row(profile, row);
	else
		cmyk_to_bgra(row, w, inverted);
}

/* One libjpeg read and what it owns. Everything that changes between the
 * setjmp and a longjmp lives here, reached through a pointer, never in a
 * local of the function that called setjmp (those would be indeterminate
 * after the longjmp unless volatile); the cleanup of its owner frees it
 * however the read ends. */
struct jpeg_read {
	struct jpeg_decompress_struct cinfo; /* zeroed: destroying it is a no-op until created */
	struct jerr e;
	uint8_t *scratch;   /* a strip, or the unrotated image */
	img_cmyk *profile;  /* a CMYK JPEG's CMYK profile */
};

static void jpeg_read_done(struct jpeg_read *j)
{
	jpeg_destroy_decompress(&j->cinfo);
	free(j->scratch);
	img_cmyk_end(j->profile);
}

static _Noreturn void jpeg_bail(struct jpeg_read *j) { longjmp(j->e.jmp, 1); }

/* Ideal size: let the IDCT produce the smallest scale n/8 still at least
 * as large as the target (much cheaper than decoding it all); decode.c
 * area-averages the rest down to the exact target. */
static void jpeg_scale(img_ctx *c, struct jpeg_decompress_struct *cinfo, bool rotated)
{
	uint32_t w = cinfo->image_width, h = cinfo->image_height, tw, th;
	img_fit(c, rotated ? h : w, rotated ? w : h, &tw, &th);
	if (tw >= (rotated ? h : w) && th >= (rotated ? w : h))
		return;
	uint64_t jw = rotated ? th : tw, jh = rotated ? tw : th;
	unsigned num = 1;
	while (num < 8 && ((uint64_t)w * num + 7) / 8 < jw)
		num++;
	while (num < 8 && ((uint64_t)h * num + 7) / 8 < jh)
		num++;
	cinfo->scale_num = num;
	cinfo->scale_denom = 8;
	c->target_w = tw;
	c->target_h = th;
}

/* The header: orientation, colour profile, size and scale. Returns the
 * EXIF orientation. */
static uint8_t jpeg_header(img_ctx *c, struct jpeg_read *j, bool *cmyk)
{
	struct jpeg_decompress_struct *cinfo = &j->cinfo;
	jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
	jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xffff); /* ICC_PROFILE chunks */
	if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
		img_fail(c, IMG_ETRUNCATED, "jpeg: no image in the data");
		jpeg_bail(j);
	}
	uint8_t orient = 0;
	for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
		if (m->marker == JPEG_APP0 + 1 && (orient = exif_orientation(m->data, m->data_length)))
			break;
	c->img->orientation = orient;
	/* The embedded ICC profile (colour.c converts to sRGB); a malformed
	 * one is left out. */
	JOCTET *icc = NULL;
	unsigned int icc_len = 0;
	if (jpeg_read_icc_profile(cinfo, &icc, &icc_len) && icc) {
		c->colour.icc = icc;
		c->colour.icc_len = icc_len;
	}
	*cmyk = cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK;
	cinfo->out_color_space = *cmyk ? JCS_CMYK : JCS_EXT_BGRA;
	/* Limits apply to the full size, scaled or not. */
	if (img_check_size(c, cinfo->image_width, cinfo->image_height) < 0)
		jpeg_bail(j);
	jpeg_scale(c, cinfo, orient >= 5);
	jpeg_calc_output_dimensions(cinfo);
	uint32_t w = cinfo->output_width, h = cinfo->output_height;
	if (img_set_size(c, orient >= 5 ? h : w, orient >= 5 ? w : h) < 0)
		jpeg_bail(j);
	return orient;
}

/* Nothing to do to the frame afterwards: stream it in strips of rows
 * (the service writes them to its shared memory, decode.c). */
static void jpeg_stream(img_ctx *c, struct jpeg_read *j, bool cmyk)
{
	struct jpeg_decompress_struct *cinfo = &j->cinfo;
	uint32_t w = cinfo->output_width, h = cinfo->output_height;
	enum { STRIP = 16 }; /* 256 KiB at 4096 wide: stays in cache */
	if (!(j->scratch = img_scratch(c, w, STRIP, 4)))
		jpeg_bail(j);
	while (cinfo->output_scanline < h) {
		uint32_t y0 = cinfo->output_scanline, n = HV_MIN(h - y0, (uint32_t)STRIP);
		while (cinfo->output_scanline < y0 + n) {
			JSAMPROW rows[STRIP];
			uint32_t k = cinfo->output_scanline - y0;
			for (uint32_t i = k; i < n; i++)
				rows[i - k] = j->scratch + (size_t)i * w * 4;
			if (jpeg_read_scanlines(cinfo, rows, n - k) == 0) {
				img_fail(c, IMG_ETRUNCATED, "jpeg: data ends before the image does");
				jpeg_bail(j);
			}
		}
		for (uint32_t i = 0; cmyk && i < n; i++)
			cmyk_row(j->profile, j->scratch + (size_t)i * w * 4, w, cinfo->saw_Adobe_marker);
		if (img_stream_rows(c, j->scratch, y0, n) < 0)
			jpeg_bail(j);
	}
	jpeg_finish_decompress(cinfo);
}

/* Into a frame of the image, through the scratch image when it is to be
 * rotated or flipped. */
static void jpeg_into_frame(img_ctx *c, struct jpeg_read *j, bool cmyk, uint8_t orient)
{
	struct jpeg_decompress_struct *cinfo = &j->cinfo;
	uint32_t w = cinfo->output_width, h = cinfo->output_height;
	uint8_t *frame;
	if (img_add_frame(c, 0, &frame) < 0)
		jpeg_bail(j);
	uint8_t *px = frame;
	if (orient > 1 && !(px = j->scratch = img_scratch(c, w, h, 4)))
		jpeg_bail(j);
	while (cinfo->output_scanline < h) {
		JSAMPROW row = px + (size_t)cinfo->output_scanline * w * 4;
		if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
			img_fail(c, IMG_ETRUNCATED, "jpeg: data ends before the image does");
			jpeg_bail(j);
		}
		if (cmyk)
			cmyk_row(j->profile, row, w, cinfo->saw_Adobe_marker);
	}
	jpeg_finish_decompress(cinfo);
	if (orient > 1)
		apply_orientation(orient, (const uint32_t *)j->scratch, w, h, (uint32_t *)frame);
}

/* Run libjpeg on j: 0, or the error recorded in c. */
static int jpeg_run(img_ctx *c, struct jpeg_read *j)
{
	if (setjmp(j->e.jmp))
		return c->err && c->err->code ? c->err->code : IMG_ECORRUPT;
	struct jpeg_decompress_struct *cinfo = &j->cinfo;
	jpeg_create_decompress(cinfo);
	j->e.progress.progress_monitor = jpeg_on_progress;
	cinfo->progress = &j->e.progress;
	cinfo->mem->max_memory_to_use = 512L << 20;
	jpeg_mem_src(cinfo, c->data, c->len);
	bool cmyk;
	uint8_t orient = jpeg_header(c, j, &cmyk);
	jpeg_start_decompress(cinfo);
	/* The frame was sized from jpeg_calc_output_dimensions: it must hold. */
	bool rotated = orient >= 5;
	uint32_t w = rotated ? c->img->height : c->img->width, h = rotated ? c->img->width : c->img->height;
	if (cinfo->output_width != w || cinfo->output_height != h || cinfo->output_components != 4) {
		img_fail(c, IMG_ECORRUPT, "jpeg: unexpected output geometry");
		jpeg_bail(j);
	}
	if (cmyk)
		j->profile = img_cmyk_begin(c, cinfo->saw_Adobe_marker, cinfo->output_width);
	int streamed = orient <= 1 && img_colour_is_srgb(c) ? img_stream_begin(c) : 0;
	if (streamed < 0)
		jpeg_bail(j);
	if (streamed)
		jpeg_stream(c, j, cmyk);
	else
		jpeg_into_frame(c, j, cmyk, orient);
	return 0;
}

int img_decode_jpeg(img_ctx *c)
{
	_hv_cleanup_(jpeg_read_done) struct jpeg_read j = {.e = {.c = c}};
	j.cinfo.err = jpeg_std_error(&j.e.mgr);
	j.e.mgr.error_exit = jpeg_on_error;
	j.e.mgr.emit_message = jpeg_on_message;
	return jpeg_run(c, &j);
}
