/* fmt-webp.c — WebP through libwebp: lossy, lossless, alpha, and
 * animation through libwebpdemux's WebPAnimDecoder (which composites
 * frames itself). Still images decode straight into the frame. */
#include <stdlib.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <haven/util.h>

#include "decoders.h"

HV_DEFINE_CLEANUP(WebPAnimDecoder *, WebPAnimDecoderDelete)

static int webp_status(img_ctx *c, VP8StatusCode st, const char *what)
{
	switch (st) {
	case VP8_STATUS_OK:
		return 0;
	case VP8_STATUS_NOT_ENOUGH_DATA:
		return img_fail(c, IMG_ETRUNCATED, "webp: data ends before the %s does", what);
	case VP8_STATUS_OUT_OF_MEMORY:
		return img_fail(c, -ENOMEM, "webp: out of memory");
	case VP8_STATUS_UNSUPPORTED_FEATURE:
		return img_fail(c, IMG_EUNSUPPORTED, "webp: unsupported feature in the %s", what);
	default:
		return img_fail(c, IMG_ECORRUPT, "webp: corrupt %s (status %d)", what, (int)st);
	}
}

static int decode_animation(img_ctx *c)
{
	WebPAnimDecoderOptions opts;
	if (!WebPAnimDecoderOptionsInit(&opts))
		return img_fail(c, IMG_EUNSUPPORTED, "webp: library version mismatch");
	opts.color_mode = MODE_BGRA; /* straight alpha */
	opts.use_threads = 0;
	WebPData wd = {c->data, c->len};
	_hv_cleanup_(WebPAnimDecoderDeletep) WebPAnimDecoder *dec = WebPAnimDecoderNew(&wd, &opts);
	if (!dec) {
		/* The demuxer does not say why; tell truncation apart by asking it. */
		WebPDemuxState st;
		WebPDemuxer *dmx = WebPDemuxPartial(&wd, &st);
		WebPDemuxDelete(dmx);
		if (st == WEBP_DEMUX_PARSING_HEADER || st == WEBP_DEMUX_PARSED_HEADER)
			return img_fail(c, IMG_ETRUNCATED, "webp: animation data ends early");
		return img_fail(c, IMG_ECORRUPT, "webp: corrupt animation container");
	}
	WebPAnimInfo info;
	int r, prev_ts = 0;
	if (!WebPAnimDecoderGetInfo(dec, &info))
		return img_fail(c, IMG_ECORRUPT, "webp: corrupt animation header");
	if (info.canvas_width != c->img->width || info.canvas_height != c->img->height)
		return img_fail(c, IMG_ECORRUPT, "webp: canvas size disagrees with the header");
	c->img->loop_count = info.loop_count;
	c->img->animated = true;
	while (WebPAnimDecoderHasMoreFrames(dec)) {
		uint8_t *buf, *px;
		int ts;
		if (!WebPAnimDecoderGetNext(dec, &buf, &ts))
			return img_fail(c, IMG_ECORRUPT, "webp: corrupt frame %u", c->img->frame_count + 1);
		if ((r = img_add_frame(c, ts > prev_ts ? (uint32_t)(ts - prev_ts) : 0, &px)) < 0)
			return r;
		memcpy(px, buf, (size_t)c->img->width * c->img->height * 4);
		prev_ts = ts;
	}
	return 0;
}

int img_decode_webp(img_ctx *c)
{
	WebPBitstreamFeatures f;
	int r = webp_status(c, WebPGetFeatures(c->data, c->len, &f), "header");
	if (r < 0)
		return r;
	if ((r = img_set_size(c, (uint64_t)f.width, (uint64_t)f.height)) < 0)
		return r;
	if (f.has_animation)
		return decode_animation(c);
	uint8_t *px;
	if ((r = img_add_frame(c, 0, &px)) < 0)
		return r;
	size_t stride = (size_t)c->img->width * 4;

	/* WebPDecodeBGRAInto gives no reason on failure; the advanced API does. */
	WebPDecoderConfig cfg;
	if (!WebPInitDecoderConfig(&cfg))
		return img_fail(c, IMG_EUNSUPPORTED, "webp: library version mismatch");
	cfg.output.colorspace = MODE_BGRA;
	cfg.output.is_external_memory = 1;
	cfg.output.u.RGBA.rgba = px;
	cfg.output.u.RGBA.stride = (int)stride;
	cfg.output.u.RGBA.size = stride * c->img->height;
	r = webp_status(c, WebPDecode(c->data, c->len, &cfg), "image");
	WebPFreeDecBuffer(&cfg.output);
	return r;
}
