/* imagedecoder-client.h — the ImageDecoder client library (SerenityOS's
 * LibImageDecoderClient): what a program needs to have an image decoded in
 * a sandboxed ImageDecoder process, and nothing of the decoder itself. A
 * program linking this library links no image library.
 *
 * Prefix imgdec_ (ipcc's generated code for the protocol uses
 * image_decoder_server_ / image_decoder_client_; the service's own code
 * has a prefix of its own).
 *
 * Getting a decoder: connect to the "image" portal (SystemServer starts a
 * fresh process per connection, which ends with it), or spawn one over a
 * socketpair, handed the connection as SystemServer would (LISTEN_FDS=1 on
 * fd 3). Either way each call on the connection times out after
 * IMGDEC_TIMEOUT_MS unless the caller sets another (hv_conn_set_timeout).
 *
 * Errors are negative errno values. A decode the service refused fails
 * with one of IMGDEC_E* (or -ENOMEM, -ECANCELED) and
 * hv_conn_last_error(c) holds the service's one-line reason; -ETIMEDOUT:
 * the decoder did not answer in time.
 *
 * Installed as <haven/imagedecoder-client.h>, pkg-config
 * haven-imagedecoder-client. docs/imagedecoder.md, "Client library".
 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/ipc.h>

/* The portal SystemServer serves ImageDecoder on (etc/services/ImageDecoder.ini). */
#define IMGDEC_PORTAL "image"

/* Call timeout of connections made by imgdec_connect / imgdec_spawn. */
#define IMGDEC_TIMEOUT_MS 25000

/* Why a decode failed (ImageDecoderServer.ipc, decode_image). */
#define IMGDEC_EUNSUPPORTED (-EOPNOTSUPP) /* no decoder recognises the content */
#define IMGDEC_ETRUNCATED (-ENODATA)	  /* the data ends before the image does */
#define IMGDEC_ECORRUPT (-EILSEQ)	  /* malformed (the message says where) */
#define IMGDEC_ETOOLARGE (-EFBIG)	  /* over one of the decoder's limits */

/* A decoded image; owns everything it points to (imgdec_image_release). */
typedef struct imgdec_image {
	char format[16];      /* "png", "apng", "jpeg", "gif", "webp", "qoi", "bmp", "ico", ... */
	uint32_t width, height; /* of one frame */
	uint32_t frame_count;
	uint32_t loop_count;  /* animations: plays, 0 = forever */
	bool animated;
	uint8_t orientation;  /* EXIF orientation found (1..8, already applied); 0 none */
	bool has_hotspot;     /* a cursor (CUR): the pixel that points, in frame coordinates */
	int32_t hotspot_x, hotspot_y;
	/* frame_count frames stacked: frame i is rows [i * height, (i + 1) *
	 * height), BGRA8888 (HV_PIXEL_BGRA8888), straight alpha, sRGB, each a
	 * fully composited canvas. In shared memory: a read-only sealed
	 * buffer from the decoder, or (a large still image, see "The output
	 * pool") one of this library's pool buffers, mapped read-write, not
	 * sealed, reused once released: copy the pixels to keep or send them
	 * on beyond imgdec_image_release. */
	hv_bitmap frames;
	uint32_t *durations;  /* frame_count entries, ms */
} imgdec_image;

/* Connect to socket_path, or (NULL) to the IMGDEC_PORTAL portal. loop may
 * be NULL (sync calls only). */
int imgdec_connect(hv_loop *loop, const char *socket_path, hv_conn **out);

/* The ImageDecoder binary imgdec_spawn starts: $HAVEN_IMAGEDECODER, else
 * the one built beside this library, else the installed one. */
const char *imgdec_default_exe(void);

/* Spawn exe (NULL: imgdec_default_exe()) with extra_args (NULL-terminated,
 * may be NULL) and connect to it. *pid is the child: it exits when the
 * connection closes; the caller reaps it. */
int imgdec_spawn(hv_loop *loop, const char *exe, const char *const *extra_args, hv_conn **out,
		 pid_t *pid);

/* Decode data[0..len) (copied into a sealed shared buffer). ideal_w x
 * ideal_h: scale down to fit (aspect kept, never up; 0 on a side leaves it
 * free; both 0: full size; a cursor/icon picks its entry by it). mime: a
 * format name or MIME type tried when the content has no signature (TGA),
 * or NULL. On success *out is the caller's (imgdec_image_release). */
int imgdec_decode(hv_conn *c, const void *data, size_t len, uint32_t ideal_w, uint32_t ideal_h,
		  const char *mime, imgdec_image *out);

void imgdec_image_release(imgdec_image *img);

/* --- the output pool ------------------------------------------------------
 * imgdec_decode has a large still image written into a buffer this library
 * keeps and reuses (decode_image_into), sized by the image decoded before,
 * so that a warm decode writes into pages that already exist instead of
 * the decoder allocating fresh shared memory for every image. A pool
 * buffer is only handed to this process's own decoders, one decode at a
 * time, and holds only zeros when handed out: imgdec_image_release zeroes
 * the part the image used before the buffer is reused (docs/imagedecoder.md,
 * "The output pool", says why), and the decoder unmaps and closes it
 * before it answers. Bounds: */
#define IMGDEC_POOL_MIN_BYTES (256u << 10)	/* smaller images: no pool */
#define IMGDEC_POOL_DEFAULT_LIMIT (256u << 20) /* bytes of pool, in use and kept */
#define IMGDEC_POOL_MAX_FREE 2u		/* buffers kept between decodes */
#define IMGDEC_POOL_IDLE_MS 30000u		/* kept longer unused: freed at the next call */
/* The byte limit; 0 turns the pool off (every decode as decode_image). */
void imgdec_pool_set_limit(size_t bytes);
/* Free every buffer kept between decodes now (memory pressure). */
void imgdec_pool_trim(void);
/* Whether img's frames are in a pool buffer (see imgdec_image.frames). */
bool imgdec_image_pooled(const imgdec_image *img);
/* Bytes of pool now, in use and kept. */
size_t imgdec_pool_bytes(void);

/* data[0..len) in a sealed shared buffer, the form decode_image takes (for
 * callers that speak the protocol themselves). */
int imgdec_buffer(const void *data, size_t len, hv_buffer *out);

/* The format a name or MIME type ("tga", "image/x-tga", "jpg") names, as
 * the decoder calls it ("tga", "jpeg", ...), or NULL if no decoder of
 * ImageDecoder has that name: check a hint before sending it. */
const char *imgdec_format_name(const char *name_or_mime);

/* A few words for an IMGDEC_E* code ("unsupported format", "truncated",
 * "corrupt", "too large", "out of memory"), else "failed". */
const char *imgdec_error_kind(int code);
