/* imgdecode — decode an image through ImageDecoder (a fresh sandboxed
 * process) and write it as PNG, PPM or PAM, or print what it is.
 *
 *   imgdecode [options] IN [OUT]      OUT's extension: .png, .ppm, .pam
 *   imgdecode --info [options] IN
 *
 * With IN alone it only checks that IN decodes.
 * The decoder is reached through the "image" portal (SystemServer starts
 * one process per connection); when no portal answers, one is spawned
 * directly. Exit: 0 ok, 1 the image could not be decoded or written (one
 * line says why), 2 bad usage. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>

#include <zlib.h>

#include "cli.h"
#include "imagedecoder-client.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: imgdecode [OPTIONS] IN [OUT]\n"
		"       imgdecode --info [OPTIONS] IN\n"
		"Decode IN in a sandboxed ImageDecoder process; write OUT as PNG, PPM or PAM\n"
		"(by its extension), or with --info print format, size, frames and loops.\n"
		"With IN alone, only check that it decodes (exit 0 or 1).\n"
		"The format of IN is found from its content, never from its name.\n\n"
		"  -i, --info           print \"format WIDTHxHEIGHT N frame(s) loop L\", then the\n"
		"                       frame durations in ms, the EXIF orientation applied\n"
		"                       and a cursor's hotspot X,Y when there are any\n"
		"  -f, --frame N        which frame of an animation to write (default 0)\n"
		"  -m, --mime TYPE      format hint for content without a signature (TGA)\n"
		"  -z, --size WxH       scale down to fit inside WxH (aspect kept, never up;\n"
		"                       0 for a side leaves it free)\n"
		"  -s, --socket PATH    use the ImageDecoder listening at PATH\n"
		"      --spawn[=EXE]    start an ImageDecoder directly (default: the built one)\n"
		"  -h, --help           this text\n"
		"Without --socket/--spawn the \"image\" portal is tried, then --spawn.\n"
		"Exit status: 0 ok, 1 bad image or I/O error, 2 usage.\n" CLI_TIMEOUT_HELP);
}

static const char *ext_of(const char *path)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	return dot && (!slash || dot > slash) ? dot + 1 : "";
}

static int put_chunk(FILE *f, const char *type, const uint8_t *data, size_t len)
{
	uint8_t be[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	uLong crc = crc32(0, (const Bytef *)type, 4);
	if (len) /* crc32(crc, NULL, 0) is not crc but the initial value */
		crc = crc32(crc, data, (uInt)len);
	uint8_t crc_be[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
	fwrite(be, 1, 4, f);
	fwrite(type, 1, 4, f);
	if (len)
		fwrite(data, 1, len, f);
	fwrite(crc_be, 1, 4, f);
	return ferror(f) ? -EIO : 0;
}

/* An RGBA PNG of one BGRA frame: filter "none" on every row, deflated with
 * zlib. The pixels come from the client library, so imgdecode links no
 * image library; the PNG it writes is plain, not small. */
static int write_png(FILE *f, const uint8_t *px, uint32_t w, uint32_t h)
{
	size_t row = (size_t)w * 4 + 1, raw_len = row * h;
	if (raw_len > INT32_MAX)
		return -EFBIG; /* kept in one IDAT chunk (at most 2^31 - 1 bytes) */
	_hv_free_ uint8_t *raw = malloc(raw_len ? raw_len : 1);
	uLongf z_len = compressBound((uLong)raw_len);
	_hv_free_ uint8_t *z = malloc(z_len);
	if (!raw || !z)
		return -ENOMEM;
	for (uint32_t y = 0; y < h; y++) {
		uint8_t *o = raw + row * y;
		*o++ = 0;
		for (uint32_t x = 0; x < w; x++, o += 4) {
			const uint8_t *p = px + ((size_t)y * w + x) * 4;
			o[0] = p[2], o[1] = p[1], o[2] = p[0], o[3] = p[3];
		}
	}
	if (compress2(z, &z_len, raw, (uLong)raw_len, Z_DEFAULT_COMPRESSION) != Z_OK ||
	    z_len > INT32_MAX)
		return -EFBIG;
	uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
			    (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
			    8, 6 /* 8-bit RGBA */, 0, 0, 0};
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	fwrite(sig, 1, sizeof sig, f);
	int r = put_chunk(f, "IHDR", ihdr, sizeof ihdr);
	if (r == 0)
		r = put_chunk(f, "IDAT", z, z_len);
	if (r == 0)
		r = put_chunk(f, "IEND", NULL, 0);
	return r;
}

/* Write one BGRA frame as PNG, PAM or PPM (by path's extension); nothing
 * is left at path on failure. */
static int write_image(const char *path, const uint8_t *px, uint32_t w, uint32_t h)
{
	const char *ext = ext_of(path);
	bool png = !strcasecmp(ext, "png"), pam = !strcasecmp(ext, "pam");
	if (!png && !pam && strcasecmp(ext, "ppm"))
		return -EPROTONOSUPPORT;
	FILE *f = fopen(path, "wbe");
	if (!f)
		return -errno;
	int r = 0;
	if (png) {
		r = write_png(f, px, w, h);
	} else {
		if (pam)
			fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", w, h);
		else
			fprintf(f, "P6\n%u %u\n255\n", w, h);
		for (size_t i = 0; i < (size_t)w * h; i++) {
			const uint8_t *p = px + i * 4;
			uint8_t o[4] = {p[2], p[1], p[0], p[3]};
			fwrite(o, 1, pam ? 4 : 3, f);
		}
		r = ferror(f) ? -EIO : 0;
	}
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		unlink(path);
	return r;
}

/* "WxH", each side 0..65535, not both 0. */
static int parse_size(const char *s, uint32_t *w, uint32_t *h)
{
	char buf[32];
	const char *x = strchr(s, 'x');
	uint64_t a, b;
	if (!x || (size_t)(x - s) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, (size_t)(x - s));
	buf[x - s] = 0;
	if (hv_parse_u64(buf, 65535, &a) < 0 || hv_parse_u64(x + 1, 65535, &b) < 0 || (a == 0 && b == 0))
		return -EINVAL;
	*w = (uint32_t)a;
	*h = (uint32_t)b;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"info", no_argument, NULL, 'i'},    {"frame", required_argument, NULL, 'f'},
		{"mime", required_argument, NULL, 'm'}, {"socket", required_argument, NULL, 's'},
		{"spawn", optional_argument, NULL, 'S'}, {"help", no_argument, NULL, 'h'},
		{"size", required_argument, NULL, 'z'},
		{NULL, 0, NULL, 0},
	};
	bool info = false, spawn = false;
	const char *mime = NULL, *socket_path = NULL, *exe = NULL;
	uint64_t frame = 0;
	uint32_t ideal_w = 0, ideal_h = 0;
	int c;
	cli_init("imgdecode", "the ImageDecoder", usage);
	while ((c = getopt_long(argc, argv, "if:m:s:hz:", opts, NULL)) != -1) {
		switch (c) {
		case 'i': info = true; break;
		case 'f':
			if (hv_parse_u64(optarg, UINT32_MAX, &frame) < 0)
				return cli_usage_error("bad frame number: %s", optarg);
			break;
		case 'm': mime = optarg; break;
		case 'z':
			if (parse_size(optarg, &ideal_w, &ideal_h) < 0)
				return cli_usage_error("bad size (want WxH): %s", optarg);
			break;
		case 's': socket_path = optarg; break;
		case 'S': spawn = true; exe = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int nargs = argc - optind;
	if (nargs < 1 || nargs > 2 || (info && nargs != 1) || (socket_path && spawn)) {
		usage(stderr);
		return 2;
	}
	const char *in = argv[optind], *out = nargs == 2 ? argv[optind + 1] : NULL;
	if (out) {
		const char *ext = ext_of(out);
		if (strcasecmp(ext, "png") && strcasecmp(ext, "ppm") && strcasecmp(ext, "pam"))
			return cli_usage_error("%s: output must end in .png, .ppm or .pam", out);
	}
	if (mime && !imgdec_format_name(mime))
		return cli_usage_error("unknown format hint: %s", mime);

	uint8_t *data = NULL;
	size_t len = 0;
	/* Far above any image the decoder would take: only a bound on memory. */
	int r = hv_read_file_at(AT_FDCWD, in, 0, (size_t)1 << 34, &data, &len);
	if (r < 0) {
		fprintf(stderr, "imgdecode: %s: %s\n", in, strerror(-r));
		return 1;
	}

	hv_conn *conn = NULL;
	pid_t child = -1;
	if (socket_path) {
		if (cli_connect(NULL, NULL, socket_path, &conn) < 0) {
			free(data);
			return 1;
		}
	} else if (spawn || imgdec_connect(NULL, NULL, &conn) < 0) {
		r = imgdec_spawn(NULL, exe, NULL, &conn, &child);
		if (r < 0) {
			fprintf(stderr, "imgdecode: cannot reach an ImageDecoder: %s\n", strerror(-r));
			free(data);
			return 1;
		}
	}
	cli_adopt(conn);

	imgdec_image img;
	r = imgdec_decode(conn, data, len, ideal_w, ideal_h, mime, &img);
	free(data);
	bool decoded = r == 0;
	int rc = 0;
	if (r < 0) {
		const hv_ipc_error *e = hv_conn_last_error(conn);
		if (e->remote)
			fprintf(stderr, "imgdecode: %s: %s: %s\n", in, imgdec_error_kind(e->code),
				e->message);
		else
			cli_fail(conn, r, in);
		rc = 1;
	} else if (info) {
		printf("%s %ux%u %u frame%s loop %u", img.format, img.width, img.height, img.frame_count,
		       img.frame_count == 1 ? "" : "s", img.loop_count);
		if (img.animated) {
			printf(" durations");
			for (size_t i = 0; i < img.frame_count; i++)
				printf(" %u", img.durations[i]);
		}
		if (img.orientation > 1)
			printf(" orientation %u", img.orientation);
		if (img.has_hotspot)
			printf(" hotspot %d,%d", img.hotspot_x, img.hotspot_y);
		printf("\n");
	} else if (!out) {
		/* IN alone: only check that it decodes. */
	} else if (frame >= img.frame_count) {
		fprintf(stderr, "imgdecode: %s has %u frame(s), no frame %llu\n", in, img.frame_count,
			(unsigned long long)frame);
		rc = 1;
	} else {
		const uint8_t *px = (const uint8_t *)img.frames.buffer.data +
				    (size_t)frame * img.frames.stride * img.height;
		if ((r = write_image(out, px, img.width, img.height)) < 0) {
			fprintf(stderr, "imgdecode: %s: %s\n", out, strerror(-r));
			rc = 1;
		}
	}
	if (decoded)
		imgdec_image_release(&img);
	hv_conn_close(conn);
	if (child > 0)
		waitpid(child, NULL, 0);
	return rc;
}
