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

int img_decode_gif(img_ctx *c)
{
	struct gif_src s = {.data = c->data, .len = c->len};
	int gerr = 0, r = 0;
	GifFileType *gif = DGifOpen(&s, gif_read, &gerr);
	if (!gif)
		return gif_fail(c, &s, gerr);

	uint8_t *canvas = NULL, *prev = NULL, *line = NULL;
	GraphicsControlBlock gcb = {.DisposalMode = DISPOSAL_UNSPECIFIED, .TransparentColor = NO_TRANSPARENT_COLOR};
	bool have_size = false;
	uint32_t W = 0, H = 0;
	c->img->loop_count = 1; /* no NETSCAPE2.0 extension: play once */

	for (;;) {
		GifRecordType rec;
		if (DGifGetRecordType(gif, &rec) == GIF_ERROR) {
			r = gif_fail(c, &s, gif->Error);
			goto out;
		}
		if (rec == TERMINATE_RECORD_TYPE)
			break;
		if (rec == EXTENSION_RECORD_TYPE) {
			int code;
			GifByteType *ext;
			if (DGifGetExtension(gif, &code, &ext) == GIF_ERROR) {
				r = gif_fail(c, &s, gif->Error);
				goto out;
			}
			bool netscape = false;
			if (code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4)
				DGifExtensionToGCB(ext[0], ext + 1, &gcb);
			if (code == APPLICATION_EXT_FUNC_CODE && ext && ext[0] == 11 &&
			    (memcmp(ext + 1, "NETSCAPE2.0", 11) == 0 || memcmp(ext + 1, "ANIMEXTS1.0", 11) == 0))
				netscape = true;
			while (ext) {
				if (DGifGetExtensionNext(gif, &ext) == GIF_ERROR) {
					r = gif_fail(c, &s, gif->Error);
					goto out;
				}
				if (netscape && ext && ext[0] >= 3 && ext[1] == 1) {
					/* Stored: repeats after the first play; 0 = forever. */
					uint16_t n = img_rd_le16(ext + 2);
					c->img->loop_count = n ? n + 1u : 0;
					netscape = false;
				}
			}
			continue;
		}
		if (rec != IMAGE_DESC_RECORD_TYPE)
			continue;
		if (DGifGetImageDesc(gif) == GIF_ERROR) {
			r = gif_fail(c, &s, gif->Error);
			goto out;
		}
		GifImageDesc *d = &gif->Image;
		if (d->Width <= 0 || d->Height <= 0 || d->Left < 0 || d->Top < 0) {
			r = img_fail(c, IMG_ECORRUPT, "gif: bad frame rectangle near byte %zu", s.pos);
			goto out;
		}
		if ((r = img_check_size(c, (uint64_t)d->Width, (uint64_t)d->Height)) < 0)
			goto out;
		if (!have_size) {
			uint64_t sw = gif->SWidth > 0 ? (uint64_t)gif->SWidth : (uint64_t)d->Left + d->Width;
			uint64_t sh = gif->SHeight > 0 ? (uint64_t)gif->SHeight : (uint64_t)d->Top + d->Height;
			if ((r = img_set_size(c, sw, sh)) < 0)
				goto out;
			W = c->img->width;
			H = c->img->height;
			canvas = calloc((size_t)W * H, 4);
			prev = malloc((size_t)W * H * 4);
			if (!canvas || !prev) {
				r = img_fail(c, -ENOMEM, "gif: out of memory");
				goto out;
			}
			have_size = true;
		}
		ColorMapObject *cmap = d->ColorMap ? d->ColorMap : gif->SColorMap;
		if (!cmap) {
			r = img_fail(c, IMG_ECORRUPT, "gif: frame without a colour map near byte %zu", s.pos);
			goto out;
		}
		/* Every index gets a colour: out-of-range ones are transparent. */
		uint8_t pal[256][4] = {{0}};
		for (int i = 0; i < cmap->ColorCount && i < 256; i++) {
			GifColorType *col = &cmap->Colors[i];
			pal[i][0] = col->Blue;
			pal[i][1] = col->Green;
			pal[i][2] = col->Red;
			pal[i][3] = 255;
		}
		int transparent = gcb.TransparentColor;
		if (transparent >= 0 && transparent < 256)
			pal[transparent][3] = 0;

		int disposal = gcb.DisposalMode;
		if (disposal == DISPOSE_PREVIOUS)
			memcpy(prev, canvas, (size_t)W * H * 4);
		free(line);
		if (!(line = malloc((size_t)d->Width))) {
			r = img_fail(c, -ENOMEM, "gif: out of memory");
			goto out;
		}
		static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
		int passes = d->Interlace ? 4 : 1;
		for (int pass = 0; pass < passes; pass++) {
			int y0 = d->Interlace ? start[pass] : 0, dy = d->Interlace ? step[pass] : 1;
			for (int y = y0; y < d->Height; y += dy) {
				if (DGifGetLine(gif, line, d->Width) == GIF_ERROR) {
					r = gif_fail(c, &s, gif->Error);
					goto out;
				}
				uint64_t cy = (uint64_t)d->Top + (uint64_t)y;
				if (cy >= H)
					continue;
				uint8_t *dst = canvas + (size_t)cy * W * 4;
				for (int x = 0; x < d->Width; x++) {
					uint64_t cx = (uint64_t)d->Left + (uint64_t)x;
					if (cx >= W)
						break;
					const uint8_t *p = pal[line[x]];
					if (p[3])
						memcpy(dst + cx * 4, p, 4);
				}
			}
			if ((r = img_check_cancel(c)) < 0)
				goto out;
		}
		uint8_t *px;
		uint32_t ms = gcb.DelayTime > 0 ? (uint32_t)gcb.DelayTime * 10 : 0;
		if ((r = img_add_frame(c, ms, &px)) < 0)
			goto out;
		memcpy(px, canvas, (size_t)W * H * 4);

		/* Dispose before the next frame, within the canvas. */
		uint32_t fx = (uint32_t)HV_MIN((uint64_t)d->Left, W), fy = (uint32_t)HV_MIN((uint64_t)d->Top, H);
		uint32_t fw = (uint32_t)HV_MIN((uint64_t)d->Width, (uint64_t)W - fx);
		uint32_t fh = (uint32_t)HV_MIN((uint64_t)d->Height, (uint64_t)H - fy);
		if (disposal == DISPOSE_BACKGROUND)
			img_clear_rect(canvas, W, fx, fy, fw, fh);
		else if (disposal == DISPOSE_PREVIOUS)
			memcpy(canvas, prev, (size_t)W * H * 4);
		gcb = (GraphicsControlBlock){.DisposalMode = DISPOSAL_UNSPECIFIED,
					     .TransparentColor = NO_TRANSPARENT_COLOR};
	}
	if (c->img->frame_count == 0)
		r = img_fail(c, IMG_ECORRUPT, "gif: no frames");
	c->img->animated = c->img->frame_count > 1;
out:
	free(canvas);
	free(prev);
	free(line);
	DGifCloseFile(gif, &gerr);
	return r;
}
