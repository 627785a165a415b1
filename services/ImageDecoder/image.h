/* image.h — ImageDecoder's decoding core: bytes in, BGRA frames out.
 *
 * Used in-process by the ImageDecoder service (one fresh sandboxed process
 * per client), by the fuzz targets and by the benchmark's in-process
 * baseline. The format is sniffed from the content, never from a name.
 *
 * Pixels: BGRA8888 (B,G,R,A bytes in memory, as SerenityOS), straight (not
 * premultiplied) alpha, sRGB; stride is always width * 4. Every frame of an
 * animation is a fully composited canvas of the image's size.
 *
 * Errors are negative errno values with a one-line reason in
 * img_error.message:
 *   IMG_EUNSUPPORTED  no decoder recognises the content
 *   IMG_ETRUNCATED    the data ends before the image does
 *   IMG_ECORRUPT      the data is malformed (the message says where)
 *   IMG_ETOOLARGE     over a limit of img_options
 *   -ENOMEM, -ECANCELED (img_options.cancel became true)
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMG_EUNSUPPORTED (-EOPNOTSUPP)
#define IMG_ETRUNCATED (-ENODATA)
#define IMG_ECORRUPT (-EILSEQ)
#define IMG_ETOOLARGE (-EFBIG)

/* Defaults of img_options (documented in docs/imagedecoder.md). */
#define IMG_MAX_DIMENSION 65535u		/* width or height */
#define IMG_MAX_PIXELS (64u << 20)		/* one frame: 64 Mpx = 256 MiB */
#define IMG_MAX_TOTAL_PIXELS (128u << 20) /* all frames together */
#define IMG_MAX_FRAMES 4096u

/* Limits and hints of one decode (img_options_default fills them). */
typedef struct img_options {
	uint64_t max_pixels;	   /* width * height of the canvas */
	uint64_t max_total_pixels; /* summed over every decoded frame */
	uint32_t max_frames;
	volatile const bool *cancel; /* optional: polled between rows/frames */
	/* Wanted size (0 = no bound on that side): picks the ICO/CUR entry
	 * (the smallest at least this large, else the largest), then a larger
	 * image is scaled down to fit inside it, aspect ratio kept (area
	 * average; JPEG first uses libjpeg's DCT scaling). Never scaled up. */
	uint32_t ideal_width, ideal_height;
	/* A format name ("png", "tga", ...) or MIME type ("image/png"):
	 * tried when sniffing recognises nothing (TGA has no magic number). */
	const char *hint;
	/* Decode as this format only, no sniffing (fuzz targets). */
	const char *force;
} img_options;

/* Where frame pixels live. The service allocates them in shared memory so
 * the decoded bitmap is never copied; the default uses malloc. */
typedef struct img_allocator {
	void *(*alloc)(void *userdata, size_t size); /* NULL: out of memory */
	void (*free)(void *userdata, void *p, size_t size);
	void *userdata;
	/* Optional: a decoder that produces a still frame in row order (JPEG
	 * without profile, orientation or scaling) may instead hand the rows
	 * over: stream_begin(size) once, then write(data, len, offset) in
	 * order. The frame's pixels are then NULL (img_image.streamed). The
	 * service writes them to its shared memory with pwrite: from a strip
	 * the decoder keeps in cache, with no page fault per page. */
	int (*stream_begin)(void *userdata, size_t size);		  /* 0 or -errno */
	int (*write)(void *userdata, const void *data, size_t len, size_t offset); /* 0 or -errno */
} img_allocator;

typedef struct img_frame {
	uint8_t *pixels;      /* BGRA, width * 4 * height bytes */
	uint32_t duration_ms; /* 0 for a still image */
} img_frame;

typedef struct img_image {
	const char *format; /* static: "png", "apng", "jpeg", "gif", "webp", ... */
	const char *mime;   /* static: "image/png", ... */
	uint32_t width, height;
	uint32_t frame_count;
	img_frame *frames;
	uint32_t loop_count; /* animations: 0 = forever */
	bool animated;
	uint8_t orientation; /* EXIF orientation found (1..8; 0 none); already applied */
	/* CUR: the hotspot (the pixel that points) of the entry decoded, in
	 * the returned frame's pixels (scaled with it, clamped inside it). */
	bool has_hotspot;
	uint32_t hotspot_x, hotspot_y;
	bool streamed; /* frame 0 went to allocator.write: its pixels are NULL */
	img_allocator allocator;
} img_image;

typedef struct img_error {
	int code;
	char message[200];
} img_error;

void img_options_default(img_options *opt);

/* Name of the format the content looks like, or NULL. Needs the first 32
 * bytes at most; never fails. */
const char *img_sniff(const uint8_t *data, size_t len);

/* Decode data[0..len). alloc and opt may be NULL (defaults). On success
 * *out holds the frames (img_free releases them); on failure nothing
 * is kept and err (optional) says why. */
int img_decode(const uint8_t *data, size_t len, const img_options *opt,
		    const img_allocator *alloc, img_image *out, img_error *err);
void img_free(img_image *img);

/* Whether a format name or MIME type names a decoder of this build. */
bool img_format_known(const char *name_or_mime);

/* The formats this build decodes, e.g. "png apng jpeg ...". */
const char *img_formats(void);
