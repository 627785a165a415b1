/* fmt-qoi.c — QOI through the reference qoi.h (Debian's libqoi-dev, a
 * single-header library compiled here). The header is checked against our
 * limits before qoi_decode allocates anything; its RGBA output is
 * swizzled into the BGRA frame. */
#include <stdlib.h>

#define QOI_IMPLEMENTATION
#define QOI_NO_STDIO
#include <qoi.h>

#include "decoders.h"

int hv_img_decode_qoi(hv_img_ctx *c)
{
	static const uint8_t padding[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	if (c->len < 14)
		return hv_img_fail(c, HV_IMAGE_ETRUNCATED, "qoi: header truncated");
	uint32_t w = hv_rd_be32(c->data + 4), h = hv_rd_be32(c->data + 8);
	uint8_t channels = c->data[12], colorspace = c->data[13];
	if ((channels != 3 && channels != 4) || colorspace > 1)
		return hv_img_fail(c, HV_IMAGE_ECORRUPT, "qoi: bad header (channels %u, colorspace %u)",
				   channels, colorspace);
	int r = hv_img_set_size(c, w, h);
	if (r < 0)
		return r;
	/* qoi_decode does not report a stream cut short: the end marker does. */
	if (c->len < 14 + 8 || memcmp(c->data + c->len - 8, padding, 8) != 0)
		return hv_img_fail(c, HV_IMAGE_ETRUNCATED, "qoi: data ends before the end marker");
	if (c->len > INT32_MAX)
		return hv_img_fail(c, HV_IMAGE_ETOOLARGE, "qoi: input larger than 2 GiB");
	qoi_desc desc;
	uint8_t *rgba = qoi_decode(c->data, (int)c->len, &desc, 4);
	if (!rgba)
		return hv_img_fail(c, HV_IMAGE_ECORRUPT, "qoi: corrupt data");
	uint8_t *px;
	if ((r = hv_img_add_frame(c, 0, &px)) < 0) {
		free(rgba);
		return r;
	}
	size_t n = (size_t)w * h;
	for (size_t i = 0; i < n; i++) {
		px[i * 4 + 0] = rgba[i * 4 + 2];
		px[i * 4 + 1] = rgba[i * 4 + 1];
		px[i * 4 + 2] = rgba[i * 4 + 0];
		px[i * 4 + 3] = rgba[i * 4 + 3];
	}
	free(rgba);
	return 0;
}
