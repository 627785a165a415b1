/* fmt-gif.c — GIF (87a/89a, still and animated) through giflib's record
 * API, so no frame is buffered before its size has been checked. Frames
 * are composited onto a transparent canvas with GIF's disposal methods
 * (none, background -> transparent, previous); parts of a frame outside
 * the logical screen are clipped. Delays are reported as stored (cs * 10). */
#include <gif_lib.h>
#include <stdlib.h>

#include <haven/util.h>

#include "decoders.h"

struct gif_src {
	const uint8_t *data;
	size_t len, pos;
	bool short_read;
};

static int gif_read(GifFileType *gif, GifByteType *buf, int n)
{
	struct gif_src *s = gif->UserData;
	size_t want = n < 0 ? 0 : (size_t)n, have = s->len - s->pos;
	if (want > have) {
		s->short_read = true;
		want = have;
	}
	memcpy(buf, s->data + s->pos, want);
	s->pos += want;
	return (int)want;
}

static int gif_fail(img_ctx *c, struct gif_src *s, int code)
{
	if (s->short_read || code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON)
		return img_fail(c, IMG_ETRUNCATED, "gif: data ends at byte %zu before the image does", s->pos);
	const char *why = GifErrorString(code);
	return img_fail(c, IMG_ECORRUPT, "gif: corrupt near byte %zu: %s", s->pos, why ? why : "error");
}

/* One decode: the giflib handle, its source and the canvas buffers. */
struct gif_dec {
	GifFileType *gif;
	struct gif_src src;
	uint8_t *canvas, *prev, *line; /* canvas and prev: W x H BGRA */
	uint32_t W, H;
	GraphicsControlBlock gcb; /* of the next frame */
};

static void gif_dec_done(struct gif_dec *g)
{
	free(g->canvas);
	free(g->prev);
	free(g->line);
	int gerr;
	if (g->gif)
		DGifCloseFile(g->gif, &gerr);
}

static void gcb_reset(GraphicsControlBlock *gcb)
{
	*gcb = (GraphicsControlBlock){.DisposalMode = DISPOSAL_UNSPECIFIED,
				      .TransparentColor = NO_TRANSPARENT_COLOR};
}

/* An extension record: the next frame's control block, or the loop count. */
static int read_extension(img_ctx *c, struct gif_dec *g)
{
	int code;
	GifByteType *ext;
	if (DGifGetExtension(g->gif, &code, &ext) == GIF_ERROR)
		return gif_fail(c, &g->src, g->gif->Error);
	bool netscape = false;
	if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4)
		DGifExtensionToGCB(ext[0], ext + 1, &g->gcb);
	if (code == APPLICATION_EXT_FUNC_CODE && ext && ext[0] == 11 &&
	    (memcmp(ext + 1, "NETSCAPE2.0", 11) == 0 || memcmp(ext + 1, "ANIMEXTS1.0", 11) == 0))
		netscape = true;
	while (ext) {
		if (DGifGetExtensionNext(g->gif, &ext) == GIF_ERROR)
			return gif_fail(c, &g->src, g->gif->Error);
		if (netscape && ext && ext[0] >= 3 && ext[1] == 1) {
			/* Stored: repeats after the first play; 0 = forever. */
			uint16_t n = img_rd_le16(ext + 2);
			c->img->loop_count = n ? n + 1u : 0;
			netscape = false;
		}
	}
	return 0;
}

/* The canvas, sized by the logical screen (or the first frame). */
static int begin_canvas(img_ctx *c, struct gif_dec *g, const GifImageDesc *d)
{
	uint64_t sw = g->gif->SWidth > 0 ? (uint64_t)g->gif->SWidth : (uint64_t)d->Left + d->Width;
	uint64_t sh = g->gif->SHeight > 0 ? (uint64_t)g->gif->SHeight : (uint64_t)d->Top + d->Height;
	int r = img_set_size(c, sw, sh);
	if (r < 0)
		return r;
	g->W = c->img->width;
	g->H = c->img->height;
	g->canvas = calloc((size_t)g->W * g->H, 4);
	g->prev = malloc((size_t)g->W * g->H * 4);
	if (!g->canvas || !g->prev)
		return img_fail(c, -ENOMEM, "gif: out of memory");
	return 0;
}

/* The frame's indices onto the canvas through pal, clipped to it. */
static int draw_frame(img_ctx *c, struct gif_dec *g, const GifImageDesc *d, const uint8_t pal[256][4])
{
	free(g->line);
	if (!(g->line = malloc((size_t)d->Width)))
		return img_fail(c, -ENOMEM, "gif: out of memory");
	static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
	int passes = d->Interlace ? 4 : 1, r;
	for (int pass = 0; pass < passes; pass++) {
		int y0 = d->Interlace ? start[pass] : 0, dy = d->Interlace ? step[pass] : 1;
		for (int y = y0; y < d->Height; y += dy) {
			if (DGifGetLine(g->gif, g->line, d->Width) == GIF_ERROR)
				return gif_fail(c, &g->src, g->gif->Error);
			uint64_t cy = (uint64_t)d->Top + (uint64_t)y;
			if (cy >= g->H)
				continue;
			uint8_t *dst = g->canvas + (size_t)cy * g->W * 4;
			for (int x = 0; x < d->Width; x++) {
				uint64_t cx = (uint64_t)d->Left + (uint64_t)x;
				if (cx >= g->W)
					break;
				const uint8_t *p = pal[g->line[x]];
				if (p[3])
					memcpy(dst + cx * 4, p, 4);
			}
		}
		if ((r = img_check_cancel(c)) < 0)
			return r;
	}
	return 0;
}

/* An image record: drawn, added as a frame, then disposed of. */
static int read_frame(img_ctx *c, struct gif_dec *g)
{
	if (DGifGetImageDesc(g->gif) == GIF_ERROR)
		return gif_fail(c, &g->src, g->gif->Error);
	const GifImageDesc *d = &g->gif->Image;
	if (d->Width <= 0 || d->Height <= 0 || d->Left < 0 || d->Top < 0)
		return img_fail(c, IMG_ECORRUPT, "gif: bad frame rectangle near byte %zu", g->src.pos);
	int r = img_check_size(c, (uint64_t)d->Width, (uint64_t)d->Height);
	if (r < 0 || (!g->canvas && (r = begin_canvas(c, g, d)) < 0))
		return r;
	const ColorMapObject *cmap = d->ColorMap ? d->ColorMap : g->gif->SColorMap;
	if (!cmap)
		return img_fail(c, IMG_ECORRUPT, "gif: frame without a colour map near byte %zu", g->src.pos);
	/* Every index gets a colour: out-of-range ones are transparent. */
	uint8_t pal[256][4] = {{0}};
	for (int i = 0; i < cmap->ColorCount && i < 256; i++) {
		const GifColorType *col = &cmap->Colors[i];
		pal[i][0] = col->Blue;
		pal[i][1] = col->Green;
		pal[i][2] = col->Red;
		pal[i][3] = 255;
	}
	int transparent = g->gcb.TransparentColor;
	if (transparent >= 0 && transparent < 256)
		pal[transparent][3] = 0;

	uint32_t W = g->W, H = g->H;
	int disposal = g->gcb.DisposalMode;
	if (disposal == DISPOSE_PREVIOUS)
		memcpy(g->prev, g->canvas, (size_t)W * H * 4);
	if ((r = draw_frame(c, g, d, pal)) < 0)
		return r;
	uint8_t *px;
	uint32_t ms = g->gcb.DelayTime > 0 ? (uint32_t)g->gcb.DelayTime * 10 : 0;
	if ((r = img_add_frame(c, ms, &px)) < 0)
		return r;
	memcpy(px, g->canvas, (size_t)W * H * 4);

	/* Dispose before the next frame, within the canvas. */
	uint32_t fx = (uint32_t)HV_MIN((uint64_t)d->Left, W), fy = (uint32_t)HV_MIN((uint64_t)d->Top, H);
	uint32_t fw = (uint32_t)HV_MIN((uint64_t)d->Width, (uint64_t)W - fx);
	uint32_t fh = (uint32_t)HV_MIN((uint64_t)d->Height, (uint64_t)H - fy);
	if (disposal == DISPOSE_BACKGROUND)
		img_clear_rect(g->canvas, W, fx, fy, fw, fh);
	else if (disposal == DISPOSE_PREVIOUS)
		memcpy(g->canvas, g->prev, (size_t)W * H * 4);
	gcb_reset(&g->gcb);
	return 0;
}

int img_decode_gif(img_ctx *c)
{
	_hv_cleanup_(gif_dec_done) struct gif_dec g = {.src = {.data = c->data, .len = c->len}};
	gcb_reset(&g.gcb);
	int gerr = 0, r = 0;
	/* giflib keeps the UserData pointer: g does not move. */
	if (!(g.gif = DGifOpen(&g.src, gif_read, &gerr)))
		return gif_fail(c, &g.src, gerr);
	c->img->loop_count = 1; /* no NETSCAPE2.0 extension: play once */
	for (;;) {
		GifRecordType rec;
		if (DGifGetRecordType(g.gif, &rec) == GIF_ERROR)
			return gif_fail(c, &g.src, g.gif->Error);
		if (rec == TERMINATE_RECORD_TYPE)
			break;
		if (rec == EXTENSION_RECORD_TYPE)
			r = read_extension(c, &g);
		else if (rec == IMAGE_DESC_RECORD_TYPE)
			r = read_frame(c, &g);
		if (r < 0)
			return r;
	}
	c->img->animated = c->img->frame_count > 1;
	if (c->img->frame_count == 0)
		return img_fail(c, IMG_ECORRUPT, "gif: no frames");
	return 0;
}
