/* fuzz-imagedecoder.c — libFuzzer target for one ImageDecoder entry point.
 * Built once per format with -DFUZZ_FORMAT="png" (and so on), which makes
 * the decoder take the input without sniffing; FUZZ_FORMAT NULL fuzzes the
 * sniffer and whatever decoder it picks. Limits are lowered so that a
 * legal but huge image is refused instead of exhausting the fuzzer's RSS.
 * The last input byte also picks an ideal size for half the inputs, so the
 * downscaler (and JPEG's IDCT scaling) run on every decoded shape; the
 * other half decode with a streaming allocator like the service's (rows
 * written at offsets into one buffer, every write checked to lie inside
 * the frame). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

struct stream {
	uint8_t *buf;
	size_t size;
};

static void *heap_alloc(void *ud, size_t size) { return malloc(size); }
static void heap_free(void *ud, void *p, size_t size) { free(p); }

static int stream_begin(void *ud, size_t size)
{
	struct stream *s = ud;
	if (s->buf)
		abort(); /* one streamed frame per image */
	s->size = size;
	return (s->buf = malloc(size)) ? 0 : -12;
}

static int stream_write(void *ud, const void *data, size_t len, size_t offset)
{
	struct stream *s = ud;
	if (!s->buf || offset > s->size || len > s->size - offset)
		abort(); /* outside the frame */
	memcpy(s->buf + offset, data, len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	img_options opt;
	img_options_default(&opt);
	opt.max_pixels = 1u << 22;
	opt.max_total_pixels = 1u << 23;
	opt.max_frames = 64;
	opt.force = FUZZ_FORMAT;
	if (size > 0 && (data[size - 1] & 0x80)) {
		uint8_t b = data[size - 1];
		opt.ideal_width = (b & 0x7u) * 9u;	   /* 0 (free side) .. 63 */
		opt.ideal_height = ((b >> 3) & 0xfu) * 5u; /* 0 .. 75 */
	}
	struct stream st = {0};
	img_allocator streaming = {heap_alloc, heap_free, &st, stream_begin, stream_write};
	bool stream = size > 0 && !(data[size - 1] & 0x80);
	img_image img;
	img_error err;
	if (img_decode(data, size, &opt, stream ? &streaming : NULL, &img, &err) == 0) {
		/* Touch every pixel so reads of uninitialised frames show up. */
		uint8_t sum = 0;
		for (uint32_t f = 0; f < img.frame_count; f++) {
			const uint8_t *px = img.streamed && f == 0 ? st.buf : img.frames[f].pixels;
			if (img.streamed && (f > 0 || st.size != (size_t)img.width * img.height * 4))
				abort();
			for (size_t i = 0; i < (size_t)img.width * img.height * 4; i += 61)
				sum += px[i];
		}
		sink = sum;
		img_free(&img);
	}
	free(st.buf);
	return 0;
}
