/* icon_store.c — NotificationServer's icons in memory and on disk (see
 * icon_store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/util.h>

#include "icon_store.h"

#define MAGIC "HVICON1\n"
#define HEADER_SIZE 20u

static bool side_ok(uint32_t v) { return v >= 1 && v <= NQ_ICON_MAX_SIDE; }
static bool format_ok(uint32_t f) { return f >= HV_PIXEL_BGRA8888 && f <= HV_PIXEL_BGRX8888; }

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A sealed copy of width x height pixels at `src` (row pitch `stride`). */
static int icon_from_pixels(uint32_t width, uint32_t height, uint32_t format, const uint8_t *src,
			    size_t stride, nq_icon **out)
{
	nq_icon *icon = calloc(1, sizeof(*icon));
	if (!icon)
		return -ENOMEM;
	int r = hv_bitmap_create(width, height, format, &icon->bitmap);
	if (r < 0) {
		free(icon);
		return r;
	}
	uint8_t *dst = icon->bitmap.buffer.data;
	for (uint32_t y = 0; y < height; y++)
		memcpy(dst + (size_t)y * width * 4, src + (size_t)y * stride, (size_t)width * 4);
	/* Ours alone so far: nothing else maps it, so the seal cannot be busy. */
	if ((r = hv_buffer_seal(&icon->bitmap.buffer)) < 0) {
		nq_icon_free(icon);
		return r;
	}
	*out = icon;
	return 0;
}

int nq_icon_take(hv_call *call, const hv_bitmap *in, nq_icon **out)
{
	*out = NULL;
	if (!side_ok(in->width) || !side_ok(in->height))
		return -EINVAL;
	if (!in->buffer.readonly)
		return icon_from_pixels(in->width, in->height, in->format, in->buffer.data, in->stride,
					out);
	nq_icon *icon = calloc(1, sizeof(*icon));
	if (!icon)
		return -ENOMEM;
	int r = hv_call_take_buffer(call, &in->buffer);
	if (r < 0) {
		free(icon);
		return r;
	}
	icon->bitmap = *in;
	*out = icon;
	return 0;
}

void nq_icon_free(nq_icon *icon)
{
	if (!icon)
		return;
	hv_bitmap_release(&icon->bitmap);
	free(icon);
}

int nq_icon_parse(const uint8_t *data, size_t len, uint32_t *width, uint32_t *height,
		  uint32_t *format, const uint8_t **pixels)
{
	if (len < HEADER_SIZE || memcmp(data, MAGIC, 8) != 0)
		return -EBADMSG;
	uint32_t w = get_u32(data + 8), h = get_u32(data + 12), f = get_u32(data + 16);
	if (!side_ok(w) || !side_ok(h) || !format_ok(f) || len - HEADER_SIZE != (size_t)w * h * 4)
		return -EBADMSG;
	*width = w;
	*height = h;
	*format = f;
	*pixels = data + HEADER_SIZE;
	return 0;
}

static void file_name(char *buf, size_t size, uint32_t id)
{
	snprintf(buf, size, "icon-%u", id);
}

/* The file's bytes: header, then the rows without their padding. */
static int fill_icon(int fd, void *userdata)
{
	const hv_bitmap *b = userdata;
	uint8_t header[HEADER_SIZE];
	memcpy(header, MAGIC, 8);
	put_u32(header + 8, b->width);
	put_u32(header + 12, b->height);
	put_u32(header + 16, b->format);
	const uint8_t *px = b->buffer.data;
	int r = hv_write_full(fd, header, sizeof header);
	for (uint32_t y = 0; r == 0 && y < b->height; y++)
		r = hv_write_full(fd, px + (size_t)y * b->stride, (size_t)b->width * 4);
	return r;
}

int nq_icon_save(int dirfd, uint32_t id, nq_icon *icon)
{
	char name[64];
	file_name(name, sizeof name, id);
	int r = hv_replace_file_at(dirfd, name, 0600, HV_REPLACE_NO_DIRSYNC, fill_icon,
				   &icon->bitmap, NULL);
	if (r < 0)
		return r;
	icon->saved = true;
	return 0;
}

int nq_icon_load(int dirfd, uint32_t id, nq_icon **out)
{
	char name[64];
	file_name(name, sizeof name, id);
	_hv_free_ uint8_t *data = NULL;
	size_t len;
	size_t max = HEADER_SIZE + (size_t)NQ_ICON_MAX_SIDE * NQ_ICON_MAX_SIDE * 4;
	int r = hv_read_file_at(dirfd, name, O_NOFOLLOW, max, &data, &len);
	if (r == -EINVAL || r == -EFBIG)
		return -EBADMSG;
	if (r < 0)
		return r;
	uint32_t w, h, f;
	const uint8_t *px;
	if ((r = nq_icon_parse(data, len, &w, &h, &f, &px)) < 0)
		return r;
	if ((r = icon_from_pixels(w, h, f, px, (size_t)w * 4, out)) < 0)
		return r;
	(*out)->saved = true;
	return 0;
}

void nq_icon_prune(int dirfd, bool (*keep)(uint32_t id, void *ud), void *ud)
{
	DIR *d = hv_opendir_at(dirfd);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		unsigned id;
		int end = 0;
		if (sscanf(e->d_name, "icon-%u%n", &id, &end) == 1 && e->d_name[end] == '\0' &&
		    !keep(id, ud) && unlinkat(dirfd, e->d_name, 0) < 0)
			hv_log_debug("could not remove %s: %m", e->d_name);
		else if (!strncmp(e->d_name, ".icon-", 6)) /* a save that never finished: ".icon-N.XXXXXX" */
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}
