/* fmt-qoi.c — QOI through the reference qoi.h (Debian's libqoi-dev, a
 * single-header library compiled here). The header is checked against our
 * limits before qoi_decode allocates anything; its one allocation is the
 * frame itself (QOI_MALLOC below), whose RGBA is then swizzled to BGRA in
 * place: no second full-size buffer. */
#include <stdlib.h>

#include "decoders.h"

/* qoi_decode allocates its output with QOI_MALLOC and frees nothing; the
 * decoding context reaches it through this (the decode runs on one thread). */
static _Thread_local img_ctx *qoi_ctx;

static void *qoi_frame_alloc(size_t size)
{
	img_ctx *c = qoi_ctx;
	uint8_t *px;
	if (!c)
		return malloc(size); /* qoi_encode (tests link this file to make QOIs) */
	if (size != (size_t)c->img->width * c->img->height * 4) {
		img_fail(c, IMG_ECORRUPT, "qoi: unexpected output size");
		return NULL;
	}
	return img_add_frame(c, 0, &px) < 0 ? NULL : px;
}

#define QOI_IMPLEMENTATION
#define QOI_NO_STDIO
#define QOI_MALLOC(sz) qoi_frame_alloc(sz)
#define QOI_FREE(p) free(p)
#include <qoi.h>

int img_decode_qoi(img_ctx *c)
{
	static const uint8_t padding[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	if (c->len < 14)
		return img_fail(c, IMG_ETRUNCATED, "qoi: header truncated");
	uint32_t w = img_rd_be32(c->data + 4), h = img_rd_be32(c->data + 8);
	uint8_t channels = c->data[12], colorspace = c->data[13];
	if ((channels != 3 && channels != 4) || colorspace > 1)
		return img_fail(c, IMG_ECORRUPT, "qoi: bad header (channels %u, colorspace %u)",
				   channels, colorspace);
	int r = img_set_size(c, w, h);
	if (r < 0)
		return r;
	/* qoi_decode does not report a stream cut short: the end marker does. */
	if (c->len < 14 + 8 || memcmp(c->data + c->len - 8, padding, 8) != 0)
		return img_fail(c, IMG_ETRUNCATED, "qoi: data ends before the end marker");
	if (c->len > INT32_MAX)
		return img_fail(c, IMG_ETOOLARGE, "qoi: input larger than 2 GiB");
	qoi_desc desc;
	qoi_ctx = c;
	uint8_t *px = qoi_decode(c->data, (int)c->len, &desc, 4);
	qoi_ctx = NULL;
	if (!px)
		return c->err && c->err->code ? c->err->code : img_fail(c, IMG_ECORRUPT, "qoi: corrupt data");
	size_t n = (size_t)w * h;
	for (size_t i = 0; i < n; i++) {
		uint8_t t = px[i * 4 + 0];
		px[i * 4 + 0] = px[i * 4 + 2];
		px[i * 4 + 2] = t;
	}
	return 0;
}
