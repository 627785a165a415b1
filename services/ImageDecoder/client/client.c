/* client.c — the ImageDecoder client library (imagedecoder-client.h):
 * getting a decoder process (portal or spawn), decoding through it, and
 * the names of the formats it decodes. Only the generated protocol code
 * and lib/ipc: no image library is linked here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "ImageDecoderServer.ipc.h"
#include "imagedecoder-client.h"
#include "pool.h"

const char *imgdec_default_exe(void)
{
	const char *e = getenv("HAVEN_IMAGEDECODER");
	if (e && *e)
		return e;
	/* In the build tree, the decoder built with this library; installed,
	 * the installed one. */
	return access(IMAGEDECODER_BUILD_PATH, X_OK) == 0 ? IMAGEDECODER_BUILD_PATH
							 : IMAGEDECODER_INSTALL_PATH;
}

int imgdec_connect(hv_loop *loop, const char *socket_path, hv_conn **out)
{
	int r = socket_path ? hv_conn_connect(loop, socket_path, out)
			    : hv_conn_connect_portal(loop, IMGDEC_PORTAL, out);
	if (r == 0)
		hv_conn_set_timeout(*out, IMGDEC_TIMEOUT_MS);
	return r;
}

int imgdec_spawn(hv_loop *loop, const char *exe, const char *const *extra_args, hv_conn **out,
		 pid_t *pid)
{
	int r = hv_conn_spawn_private(loop, exe ? exe : imgdec_default_exe(), extra_args, 0, out,
				      pid);
	if (r < 0)
		return r;
	hv_conn_set_timeout(*out, IMGDEC_TIMEOUT_MS);
	return 0;
}

int imgdec_buffer(const void *data, size_t len, hv_buffer *out)
{
	int r = hv_buffer_create(len ? len : 1, out);
	if (r < 0)
		return r;
	/* Written with pwrite, not through the mapping: no page fault and no
	 * page table entry per 4 KiB here (the mapping is dropped untouched,
	 * and the sealed one is never touched either). For a 14.5 MB PNG that
	 * is ~3 ms less than populating the mapping and copying into it. */
	hv_buffer mapping = *out;
	mapping.fd = -1;
	hv_buffer_release(&mapping);
	out->data = NULL;
	for (size_t off = 0; off < len && r == 0;) {
		ssize_t n = pwrite(out->fd, (const uint8_t *)data + off, len - off, (off_t)off);
		if (n > 0)
			off += (size_t)n;
		else if (n == 0 || errno != EINTR)
			r = n < 0 ? -errno : -EIO;
	}
	if (r == 0)
		r = hv_buffer_seal(out);
	if (r < 0)
		hv_buffer_release(out);
	return r;
}

/* The reply's strings and vectors live until the next call on c: copy. */
static int image_from_reply(const image_decoder_server_decoded_image *d, imgdec_image *out)
{
	*out = (imgdec_image){
		.width = d->width,
		.height = d->height,
		.frame_count = d->frame_count,
		.loop_count = d->loop_count,
		.animated = d->is_animated,
		.orientation = d->orientation,
		.has_hotspot = d->hotspot.present,
		.hotspot_x = d->hotspot.value.x,
		.hotspot_y = d->hotspot.value.y,
		.frames = d->frames,
	};
	/* What every caller relies on, checked once here: one duration per
	 * frame, and the frames all in the bitmap. */
	if (d->durations.count != d->frame_count || d->frames.width != d->width ||
	    (uint64_t)d->frames.height < (uint64_t)d->height * d->frame_count ||
	    (d->frame_count && !d->frames.buffer.data))
		return -EBADMSG;
	snprintf(out->format, sizeof out->format, "%s", d->format);
	out->durations = calloc(d->durations.count ? d->durations.count : 1, sizeof(uint32_t));
	if (!out->durations)
		return -ENOMEM;
	memcpy(out->durations, d->durations.items, d->durations.count * sizeof(uint32_t));
	return 0;
}

/* The pixels are in pb's buffer (decode_image_into said so): the image
 * points at it, once its size is checked against the buffer. */
static int image_in_pool(image_decoder_server_decoded_image *d, imgdec_pool_buf *pb)
{
	const hv_buffer *b = imgdec_pool_buffer(pb);
	uint64_t rows = (uint64_t)d->height * d->frame_count;
	if (d->frame_count != 1 || d->width == 0 || (uint64_t)d->width * 4 * rows > b->size)
		return -EBADMSG;
	d->frames = (hv_bitmap){.width = d->width, .height = (uint32_t)rows, .stride = d->width * 4,
				.format = HV_PIXEL_BGRA8888, .buffer = *b};
	return 0;
}

int imgdec_decode(hv_conn *c, const void *data, size_t len, uint32_t ideal_w, uint32_t ideal_h,
		  const char *mime, imgdec_image *out)
{
	if (ideal_w > INT32_MAX || ideal_h > INT32_MAX)
		return -EINVAL;
	hv_buffer b;
	int r = imgdec_buffer(data, len, &b);
	if (r < 0)
		return r;
	hv_opt_int_size size = {.present = ideal_w || ideal_h};
	size.value.width = (int32_t)ideal_w;
	size.value.height = (int32_t)ideal_h;
	hv_opt_bytestring m = {.present = mime != NULL, .value = mime};
	image_decoder_server_decoded_image img;
	/* A scaled decode's result is small, and its full-size frame would
	 * only cost the decoder the buffer's address space: no pool. */
	imgdec_pool_buf *pb = size.present ? NULL : imgdec_pool_take();
	bool in_output = false;
	if (pb)
		r = image_decoder_server_decode_image_into(c, b, size, m, *imgdec_pool_buffer(pb), &img,
							   &in_output);
	else
		r = image_decoder_server_decode_image(c, b, size, m, &img);
	hv_buffer_release(&b);
	if (pb && (r < 0 || !in_output)) {
		imgdec_pool_give_back(pb, 0); /* the decoder left it as it came */
		pb = NULL;
	}
	if (r < 0)
		return r;
	if (pb) {
		if ((r = image_in_pool(&img, pb)) < 0) {
			imgdec_pool_give_back(pb, imgdec_pool_buffer(pb)->size);
			return r;
		}
	} else if (img.frames.buffer.data) {
		/* Map every page in one call (shmem maps 16 per fault this
		 * way), and drop recency tracking so the unmap does not mark
		 * each page accessed (see ImageDecoder.c's job_alloc). */
		madvise(img.frames.buffer.data, img.frames.buffer.size, MADV_POPULATE_READ);
		madvise(img.frames.buffer.data, img.frames.buffer.size, MADV_RANDOM);
	}
	imgdec_pool_note((size_t)img.frames.stride * img.frames.height);
	if ((r = image_from_reply(&img, out)) < 0) {
		if (pb)
			imgdec_pool_give_back(pb, imgdec_pool_buffer(pb)->size);
		else
			hv_bitmap_release(&img.frames);
	}
	return r;
}

bool imgdec_image_pooled(const imgdec_image *img)
{
	return img && imgdec_pool_owner(img->frames.buffer.data) != NULL;
}

void imgdec_image_release(imgdec_image *img)
{
	if (!img)
		return;
	imgdec_pool_buf *pb = imgdec_pool_owner(img->frames.buffer.data);
	if (pb) {
		imgdec_pool_give_back(pb, (size_t)img->frames.stride * img->frames.height);
		img->frames = (hv_bitmap){.buffer = HV_BUFFER_EMPTY};
	} else {
		hv_bitmap_release(&img->frames);
	}
	free(img->durations);
	img->durations = NULL;
}

const char *imgdec_format_name(const char *name_or_mime)
{
	/* Every name and MIME type services/ImageDecoder/decode.c accepts as a
	 * hint, and the format it stands for; tests/ImageDecoder checks that
	 * the two tables agree. */
	static const struct {
		const char *name, *format;
	} names[] = {
		{"png", "png"},		 {"image/png", "png"},
		{"apng", "png"},	 {"image/apng", "png"},
		{"jpeg", "jpeg"},	 {"image/jpeg", "jpeg"},
		{"jpg", "jpeg"},	 {"image/jpg", "jpeg"},
		{"gif", "gif"},		 {"image/gif", "gif"},
		{"webp", "webp"},	 {"image/webp", "webp"},
		{"qoi", "qoi"},		 {"image/qoi", "qoi"},
		{"bmp", "bmp"},		 {"image/bmp", "bmp"},
		{"ico", "ico"},		 {"image/vnd.microsoft.icon", "ico"},
		{"image/x-icon", "ico"}, {"cur", "cur"},
		{"image/x-win-bitmap", "cur"}, {"image/x-cursor", "cur"},
		{"pnm", "pnm"},		 {"image/x-portable-anymap", "pnm"},
		{"pbm", "pnm"},		 {"pgm", "pnm"},
		{"ppm", "pnm"},		 {"pam", "pnm"},
		{"image/x-portable-bitmap", "pnm"}, {"image/x-portable-graymap", "pnm"},
		{"image/x-portable-pixmap", "pnm"}, {"image/x-portable-arbitrarymap", "pnm"},
		{"tga", "tga"},		 {"image/x-tga", "tga"},
		{"image/x-targa", "tga"}, {"image/tga", "tga"},
	};
	for (size_t i = 0; name_or_mime && i < HV_ARRAY_SIZE(names); i++)
		if (!strcasecmp(name_or_mime, names[i].name))
			return names[i].format;
	return NULL;
}

const char *imgdec_error_kind(int code)
{
	switch (code) {
	case IMGDEC_EUNSUPPORTED: return "unsupported format";
	case IMGDEC_ETRUNCATED: return "truncated";
	case IMGDEC_ECORRUPT: return "corrupt";
	case IMGDEC_ETOOLARGE: return "too large";
	case -ENOMEM: return "out of memory";
	default: return "failed";
	}
}
