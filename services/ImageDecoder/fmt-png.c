/* fmt-png.c — PNG through libpng, and APNG animation on top of it.
 *
 * Debian's libpng has no APNG patch, so APNG is done here: the chunk list
 * is walked once (checking lengths, never trusting them), each frame's
 * fdAT data is rewrapped as a small standalone PNG (IHDR of the frame size,
 * the shared PLTE/tRNS, IDAT) which libpng decodes, and frames are
 * composited with their dispose and blend ops. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include <haven/util.h>

#include "decoders.h"

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

struct png_src {
	img_ctx *c;
	const uint8_t *data;
	size_t len, pos;
	bool truncated;
	char msg[128];
	png_bytep *rows;
};

static void png_read_mem(png_structp png, png_bytep out, size_t n)
{
	struct png_src *s = png_get_io_ptr(png);
	if (n > s->len - s->pos) {
		s->truncated = true;
		png_error(png, "truncated");
	}
	memcpy(out, s->data + s->pos, n);
	s->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg)
{
	struct png_src *s = png_get_error_ptr(png);
	snprintf(s->msg, sizeof(s->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg; /* warnings (bad ancillary chunks) are not failures */
}

/* Record the image's colour chunks (iCCP, sRGB, gAMA, cHRM) for colour.c.
 * A chunk libpng found invalid is not there. */
static void png_colour(png_structp png, png_infop info, img_ctx *c)
{
	img_colour *col = &c->colour;
	int intent;
	col->srgb = png_get_sRGB(png, info, &intent) != 0;
	png_charp name;
	int compression;
	png_bytep profile;
	png_uint_32 len;
	if (png_get_iCCP(png, info, &name, &compression, &profile, &len) && len > 0 && !col->icc &&
	    (col->icc = malloc(len))) {
		memcpy(col->icc, profile, len);
		col->icc_len = len;
	}
	double g;
	if (png_get_gAMA(png, info, &g) && g > 0)
		col->gamma = g;
	double *h = col->chrm;
	col->has_chrm = png_get_cHRM(png, info, &h[0], &h[1], &h[2], &h[3], &h[4], &h[5], &h[6], &h[7]) != 0;
}

/* One libpng read and what it owns. Everything that changes between the
 * setjmp and a longjmp lives here, reached through a pointer, never in a
 * local of the function that called setjmp: after the longjmp those
 * locals are indeterminate unless volatile, and the cleanup reads these. */
struct png_read {
	struct png_src s;
	png_structp png;
	png_infop info;
	uint8_t *scratch; /* img_scratch: a strip, or a whole sub-image */
};

static void png_read_done(struct png_read *p)
{
	png_destroy_read_struct(&p->png, p->info ? &p->info : NULL, NULL);
	free(p->s.rows);
	free(p->scratch);
}

/* The rows after png_read_info(), decoded as BGRA (see png_decode_mem).
 * Errors longjmp out, to png_run; p->s.rows and p->scratch are freed by
 * png_read_done whichever way it ends. */
#define PNG_FRAME ((uint8_t *)1)
static void png_rows(img_ctx *c, struct png_read *p, uint8_t *dst, uint32_t *w_out, uint32_t *h_out)
{
	png_structp png = p->png;
	png_uint_32 w, h;
	int depth, color, interlace;
	png_get_IHDR(png, p->info, &w, &h, &depth, &color, &interlace, NULL, NULL);
	if (img_check_size(c, w, h) < 0)
		png_longjmp(png, 1);
	if (dst && (w != c->img->width || h != c->img->height)) {
		img_fail(c, IMG_ECORRUPT, "png: frame size differs from the image's");
		png_longjmp(png, 1);
	}
	png_set_expand(png); /* palette -> RGB, low-bit gray -> 8 bit, tRNS -> alpha */
	png_set_scale_16(png);
	if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA)
		png_set_gray_to_rgb(png);
	png_set_bgr(png);
	png_set_filler(png, 0xff, PNG_FILLER_AFTER);
	png_set_interlace_handling(png);
	png_read_update_info(png, p->info);
	if (png_get_rowbytes(png, p->info) != (size_t)w * 4) {
		img_fail(c, IMG_ECORRUPT, "png: unexpected row layout");
		png_longjmp(png, 1);
	}
	if (dst == PNG_FRAME) {
		int streamed = interlace == PNG_INTERLACE_NONE && img_colour_is_srgb(c) ? img_stream_begin(c) : 0;
		if (streamed < 0)
			png_longjmp(png, 1);
		if (streamed) {
			enum { STRIP = 16 };
			if (!(p->scratch = img_scratch(c, w, STRIP, 4)))
				png_longjmp(png, 1);
			for (png_uint_32 y0 = 0; y0 < h; y0 += STRIP) {
				uint32_t n = HV_MIN(h - y0, (uint32_t)STRIP);
				for (uint32_t i = 0; i < n; i++)
					png_read_row(png, p->scratch + (size_t)i * w * 4, NULL);
				if (img_check_cancel(c) < 0 || img_stream_rows(c, p->scratch, y0, n) < 0)
					png_longjmp(png, 1);
			}
			png_read_end(png, NULL);
			return;
		}
		if (img_add_frame(c, 0, &dst) < 0)
			png_longjmp(png, 1);
	}
	if (!dst && !(dst = p->scratch = img_scratch(c, w, h, 4)))
		png_longjmp(png, 1);
	if (!(p->s.rows = malloc(sizeof(png_bytep) * h))) {
		img_fail(c, -ENOMEM, "png: out of memory");
		png_longjmp(png, 1);
	}
	for (png_uint_32 y = 0; y < h; y++)
		p->s.rows[y] = dst + (size_t)y * w * 4;
	png_read_image(png, p->s.rows);
	png_read_end(png, NULL);
	*w_out = w;
	*h_out = h;
}

/* Run libpng on p up to png_rows. 0, or the error recorded in c. */
static int png_run(img_ctx *c, struct png_read *p, uint8_t *dst, uint32_t *w, uint32_t *h)
{
	if (setjmp(png_jmpbuf(p->png))) {
		if (p->s.truncated)
			return img_fail(c, IMG_ETRUNCATED, "png: data ends at byte %zu before the image does", p->s.len);
		if (c->err && c->err->code)
			return c->err->code;
		return img_fail(c, IMG_ECORRUPT, "png: corrupt near byte %zu: %s", p->s.pos, p->s.msg);
	}
	png_set_read_fn(p->png, &p->s, png_read_mem);
	png_set_user_limits(p->png, IMG_MAX_DIMENSION, IMG_MAX_DIMENSION);
	png_set_chunk_malloc_max(p->png, 16u << 20);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	/* Let the fuzzer past CRCs, which it cannot guess. */
	png_set_crc_action(p->png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#endif
	png_read_info(p->png, p->info);
	if (p->s.data == c->data) /* the image itself, not an APNG frame or ICO entry */
		png_colour(p->png, p->info, c);
	png_rows(c, p, dst, w, h);
	return 0;
}

/* Decode a complete PNG stream into BGRA rows. dst == NULL: allocate with
 * img_scratch (for APNG sub-frames and ICO: *out, with its size); dst ==
 * PNG_FRAME: the image's one frame (streamed in strips when nothing is to
 * be done to it afterwards, see decode.c; else allocated here); else dst
 * holds the image's canvas, whose size must match. */
static int png_decode_mem(img_ctx *c, const uint8_t *data, size_t len, uint8_t *dst,
			  uint32_t *w_out, uint32_t *h_out, uint8_t **out)
{
	_hv_cleanup_(png_read_done) struct png_read p = {.s = {.c = c, .data = data, .len = len}};
	p.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &p.s, png_on_error, png_on_warning);
	p.info = p.png ? png_create_info_struct(p.png) : NULL;
	if (!p.info)
		return img_fail(c, -ENOMEM, "png: out of memory");
	uint32_t w = 0, h = 0;
	int r = png_run(c, &p, dst, &w, &h);
	if (r < 0)
		return r;
	if (w_out)
		*w_out = w;
	if (h_out)
		*h_out = h;
	if (out)
		*out = HV_TAKE_PTR(p.scratch);
	return 0;
}

int img_png_to_bgra(img_ctx *c, const uint8_t *data, size_t len, uint32_t *w, uint32_t *h,
		       uint8_t **out)
{
	return png_decode_mem(c, data, len, NULL, w, h, out);
}

/* --- APNG ------------------------------------------------------------------ */

struct chunk {
	uint32_t len;
	const uint8_t *type, *data;
	size_t offset;
};

/* Next chunk at *pos, bounds-checked; 0 at a valid chunk, else an error. */
static int next_chunk(img_ctx *c, size_t *pos, struct chunk *ch)
{
	if (c->len - *pos < 12)
		return img_fail(c, IMG_ETRUNCATED, "png: truncated chunk header at byte %zu", *pos);
	ch->len = img_rd_be32(c->data + *pos);
	ch->type = c->data + *pos + 4;
	ch->data = c->data + *pos + 8;
	ch->offset = *pos;
	if (ch->len > 0x7fffffffu)
		return img_fail(c, IMG_ECORRUPT, "png: chunk length out of range at byte %zu", *pos);
	if (c->len - *pos - 12 < ch->len)
		return img_fail(c, IMG_ETRUNCATED, "png: chunk at byte %zu runs past the end", *pos);
	*pos += 12 + (size_t)ch->len;
	return 0;
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static bool buf_put(struct buf *b, const void *d, size_t n)
{
	if (n == 0)
		return true; /* b->p may still be NULL */
	if (b->cap - b->len < n) {
		size_t cap = HV_MAX(b->cap * 2, b->len + n + 256);
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return false;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	return true;
}

static bool buf_chunk(struct buf *b, const char *type, const uint8_t *d, uint32_t n)
{
	uint8_t hdr[8] = {n >> 24, n >> 16, n >> 8, n, type[0], type[1], type[2], type[3]};
	uint32_t crc = (uint32_t)crc32(0, hdr + 4, 4);
	crc = (uint32_t)crc32(crc, d, n);
	uint8_t tail[4] = {crc >> 24, crc >> 16, crc >> 8, crc};
	return buf_put(b, hdr, 8) && buf_put(b, d, n) && buf_put(b, tail, 4);
}

struct fctl {
	uint32_t w, h, x, y;
	uint16_t delay_num, delay_den;
	uint8_t dispose, blend;
};

static int parse_fctl(img_ctx *c, const struct chunk *ch, struct fctl *f)
{
	if (ch->len != 26)
		return img_fail(c, IMG_ECORRUPT, "apng: fcTL at byte %zu has length %u", ch->offset, ch->len);
	const uint8_t *d = ch->data + 4; /* after the sequence number */
	*f = (struct fctl){img_rd_be32(d), img_rd_be32(d + 4), img_rd_be32(d + 8), img_rd_be32(d + 12),
			   img_rd_be16(d + 16), img_rd_be16(d + 18), d[20], d[21]};
	if (f->w == 0 || f->h == 0 || f->x > c->img->width || f->y > c->img->height ||
	    f->w > c->img->width - f->x || f->h > c->img->height - f->y)
		return img_fail(c, IMG_ECORRUPT, "apng: frame rectangle at byte %zu outside the canvas", ch->offset);
	if (f->dispose > 2 || f->blend > 1)
		return img_fail(c, IMG_ECORRUPT, "apng: bad dispose/blend op at byte %zu", ch->offset);
	return 0;
}

static uint32_t fctl_ms(const struct fctl *f)
{
	uint32_t den = f->delay_den ? f->delay_den : 100;
	return (uint32_t)(((uint64_t)f->delay_num * 1000 + den / 2) / den);
}

/* Decode one frame's image data (IDAT or fdAT payloads) into BGRA. */
static int apng_frame(img_ctx *c, const struct chunk *ihdr, const struct buf *shared,
		      const struct buf *idat, const struct fctl *f, uint8_t **out)
{
	struct buf png = {0};
	uint8_t hdr[13];
	memcpy(hdr, ihdr->data, 13);
	uint8_t wh[8] = {f->w >> 24, f->w >> 16, f->w >> 8, f->w, f->h >> 24, f->h >> 16, f->h >> 8, f->h};
	memcpy(hdr, wh, 8);
	int r = 0;
	if (!buf_put(&png, png_sig, 8) || !buf_chunk(&png, "IHDR", hdr, 13) ||
	    !buf_put(&png, shared->p ? shared->p : (const uint8_t *)"", shared->len) ||
	    !buf_chunk(&png, "IDAT", idat->p ? idat->p : (const uint8_t *)"", (uint32_t)idat->len) ||
	    !buf_chunk(&png, "IEND", (const uint8_t *)"", 0))
		r = img_fail(c, -ENOMEM, "apng: out of memory");
	if (r == 0)
		r = png_decode_mem(c, png.p, png.len, NULL, NULL, NULL, out);
	free(png.p);
	return r;
}

/* An APNG being decoded: the shared chunks, the frame being gathered and
 * the canvas it is composited onto. */
struct apng {
	struct chunk ihdr;
	struct buf shared, idat; /* PLTE/tRNS for every frame; this frame's data */
	uint8_t *canvas, *prev, *sub;
	struct fctl f; /* of the frame being gathered (have_fctl) */
	bool have_fctl, seen_idat, idat_is_frame;
	uint32_t seq_next;
};

static void apng_done(struct apng *a)
{
	free(a->canvas);
	free(a->prev);
	free(a->sub);
	free(a->shared.p);
	free(a->idat.p);
}

/* The gathered frame: decoded, composited, added, disposed of. */
static int apng_emit(img_ctx *c, struct apng *a)
{
	uint32_t W = c->img->width, H = c->img->height;
	const struct fctl *f = &a->f;
	free(a->sub);
	a->sub = NULL;
	int r = apng_frame(c, &a->ihdr, &a->shared, &a->idat, f, &a->sub);
	if (r < 0)
		return r;
	uint8_t *px;
	if (f->dispose == 2)
		memcpy(a->prev, a->canvas, (size_t)W * H * 4);
	img_composite(a->canvas, W, a->sub, f->x, f->y, f->w, f->h, f->blend == 1);
	if ((r = img_add_frame(c, fctl_ms(f), &px)) < 0)
		return r;
	memcpy(px, a->canvas, (size_t)W * H * 4);
	/* Dispose for the next frame (the first frame's "previous" is "background"). */
	if (f->dispose == 1 || (f->dispose == 2 && c->img->frame_count == 1))
		img_clear_rect(a->canvas, W, f->x, f->y, f->w, f->h);
	else if (f->dispose == 2)
		memcpy(a->canvas, a->prev, (size_t)W * H * 4);
	return 0;
}

static int apng_fctl(img_ctx *c, struct apng *a, const struct chunk *ch)
{
	struct fctl pending;
	int r;
	if (ch->len >= 4 && img_rd_be32(ch->data) != a->seq_next++)
		return img_fail(c, IMG_ECORRUPT, "apng: sequence number out of order at byte %zu", ch->offset);
	if ((r = parse_fctl(c, ch, &pending)) < 0)
		return r;
	if (!a->seen_idat && (pending.x || pending.y || pending.w != c->img->width || pending.h != c->img->height))
		return img_fail(c, IMG_ECORRUPT, "apng: first frame must cover the canvas");
	a->f = pending;
	a->have_fctl = true;
	if (!a->seen_idat)
		a->idat_is_frame = true;
	return 0;
}

/* One chunk after the header: 1 at IEND, else 0 or an error. */
static int apng_chunk(img_ctx *c, struct apng *a, const struct chunk *ch)
{
	bool is_idat = memcmp(ch->type, "IDAT", 4) == 0, is_fdat = memcmp(ch->type, "fdAT", 4) == 0;
	bool is_fctl = memcmp(ch->type, "fcTL", 4) == 0, is_iend = memcmp(ch->type, "IEND", 4) == 0;
	int r;
	/* A frame ends at the next fcTL or at IEND. */
	if ((is_fctl || is_iend) && a->have_fctl && a->idat.len > 0) {
		if ((r = apng_emit(c, a)) < 0)
			return r;
		a->have_fctl = false;
	}
	if (is_fctl || is_iend)
		a->idat.len = 0; /* emitted, or a hidden default image: not a frame */
	if (is_iend)
		return 1;
	if (is_fctl)
		return apng_fctl(c, a, ch);
	if (is_idat) {
		a->seen_idat = true;
		if ((a->idat_is_frame || !a->have_fctl) && !buf_put(&a->idat, ch->data, ch->len))
			return img_fail(c, -ENOMEM, "apng: out of memory");
	} else if (is_fdat) {
		if (ch->len < 4 || img_rd_be32(ch->data) != a->seq_next++)
			return img_fail(c, IMG_ECORRUPT, "apng: bad fdAT sequence at byte %zu", ch->offset);
		if (!a->have_fctl || !a->seen_idat)
			return img_fail(c, IMG_ECORRUPT, "apng: fdAT without a frame at byte %zu", ch->offset);
		if (!buf_put(&a->idat, ch->data + 4, ch->len - 4))
			return img_fail(c, -ENOMEM, "apng: out of memory");
	} else if (!a->seen_idat && (memcmp(ch->type, "PLTE", 4) == 0 || memcmp(ch->type, "tRNS", 4) == 0)) {
		/* Shared by every frame's standalone PNG. */
		if (!buf_chunk(&a->shared, memcmp(ch->type, "PLTE", 4) == 0 ? "PLTE" : "tRNS", ch->data, ch->len))
			return img_fail(c, -ENOMEM, "apng: out of memory");
	}
	return 0;
}

/* 1: it is an APNG (decoded or failed: see return); 0: plain PNG. */
static int decode_apng(img_ctx *c, bool *is_apng)
{
	_hv_cleanup_(apng_done) struct apng a = {0};
	struct chunk ch;
	uint32_t num_frames = 0, plays = 0;
	int r = 0;

	*is_apng = false;
	/* First pass up to the first IDAT: is there an acTL? */
	for (size_t p = 8;;) {
		if ((r = next_chunk(c, &p, &ch)) < 0)
			return r;
		if (memcmp(ch.type, "IHDR", 4) == 0 && ch.len == 13)
			a.ihdr = ch;
		if (memcmp(ch.type, "acTL", 4) == 0 && ch.len == 8) {
			num_frames = img_rd_be32(ch.data);
			plays = img_rd_be32(ch.data + 4);
			*is_apng = true;
		}
		if (memcmp(ch.type, "IDAT", 4) == 0 || memcmp(ch.type, "IEND", 4) == 0)
			break;
	}
	if (!*is_apng)
		return 0;
	if (!a.ihdr.data)
		return img_fail(c, IMG_ECORRUPT, "apng: IHDR missing");
	if ((r = img_set_size(c, img_rd_be32(a.ihdr.data), img_rd_be32(a.ihdr.data + 4))) < 0)
		return r;
	if (num_frames == 0 || num_frames > c->opt.max_frames)
		return img_fail(c, num_frames ? IMG_ETOOLARGE : IMG_ECORRUPT,
				"apng: acTL declares %u frames", num_frames);
	c->img->format = "apng";
	c->img->mime = "image/apng";
	c->img->loop_count = plays;
	c->img->animated = true;
	a.canvas = calloc((size_t)c->img->width * c->img->height, 4);
	a.prev = malloc((size_t)c->img->width * c->img->height * 4);
	if (!a.canvas || !a.prev)
		return img_fail(c, -ENOMEM, "apng: out of memory");
	for (size_t pos = 8;;) {
		if ((r = next_chunk(c, &pos, &ch)) < 0 || (r = apng_chunk(c, &a, &ch)) < 0)
			return r;
		if (r == 1)
			break;
		if ((r = img_check_cancel(c)) < 0)
			return r;
	}
	if (c->img->frame_count == 0)
		return img_fail(c, IMG_ECORRUPT, "apng: no frames");
	return 0;
}

/* APNG frames are decoded from rewrapped chunks: read the colour chunks
 * from the stream's own header. Any failure here has already been seen by
 * the frames' decode; it only leaves the colour chunks unread. */
static int apng_colour(img_ctx *c)
{
	struct png_src s = {.c = c, .data = c->data, .len = c->len};
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, png_on_error, png_on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (info && !setjmp(png_jmpbuf(png))) {
		png_set_read_fn(png, &s, png_read_mem);
		png_set_chunk_malloc_max(png, 16u << 20);
		png_read_info(png, info);
		png_colour(png, info, c);
	}
	png_destroy_read_struct(&png, info ? &info : NULL, NULL);
	return 0;
}

int img_decode_png(img_ctx *c)
{
	bool is_apng;
	if (c->len < 8)
		return img_fail(c, IMG_ETRUNCATED, "png: signature truncated");
	int r = decode_apng(c, &is_apng);
	if (r < 0)
		return r;
	if (is_apng)
		return apng_colour(c);
	/* Plain PNG: read the size first so the frame is allocated once, then
	 * let libpng write straight into it (no copy). */
	if (c->len < 24 || memcmp(c->data + 12, "IHDR", 4) != 0)
		return img_fail(c, c->len < 24 ? IMG_ETRUNCATED : IMG_ECORRUPT,
				   "png: IHDR missing");
	if ((r = img_set_size(c, img_rd_be32(c->data + 16), img_rd_be32(c->data + 20))) < 0)
		return r;
	return png_decode_mem(c, c->data, c->len, PNG_FRAME, NULL, NULL, NULL);
}
