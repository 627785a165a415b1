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
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <haven/log.h>

#include "cli.h"
#include "client.h"
#include "image.h"

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

/* Write one BGRA frame. */
static int write_image(const char *path, const uint8_t *px, uint32_t w, uint32_t h)
{
	const char *ext = ext_of(path);
	if (!strcasecmp(ext, "png")) {
		png_image img = {.version = PNG_IMAGE_VERSION, .width = w, .height = h, .format = PNG_FORMAT_BGRA};
		if (!png_image_write_to_file(&img, path, 0, px, (png_int_32)(w * 4), NULL)) {
			fprintf(stderr, "imgdecode: %s: %s\n", path, img.message);
			return -EIO;
		}
		return 0;
	}
	bool pam = !strcasecmp(ext, "pam");
	if (!pam && strcasecmp(ext, "ppm"))
		return -EPROTONOSUPPORT;
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	if (pam)
		fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n", w, h);
	else
		fprintf(f, "P6\n%u %u\n255\n", w, h);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		const uint8_t *p = px + i * 4;
		uint8_t o[4] = {p[2], p[1], p[0], p[3]};
		fwrite(o, 1, pam ? 4 : 3, f);
	}
	int r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static const char *kind_of(int code)
{
	switch (code) {
	case IMG_EUNSUPPORTED: return "unsupported format";
	case IMG_ETRUNCATED: return "truncated";
	case IMG_ECORRUPT: return "corrupt";
	case IMG_ETOOLARGE: return "too large";
	case -ENOMEM: return "out of memory";
	default: return "failed";
	}
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
			if (hv_parse_u64(optarg, UINT32_MAX, &frame) < 0) {
				fprintf(stderr, "imgdecode: bad frame number: %s\n", optarg);
				usage(stderr);
				return 2;
			}
			break;
		case 'm': mime = optarg; break;
		case 'z':
			if (parse_size(optarg, &ideal_w, &ideal_h) < 0) {
				fprintf(stderr, "imgdecode: bad size (want WxH): %s\n", optarg);
				usage(stderr);
				return 2;
			}
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
		if (strcasecmp(ext, "png") && strcasecmp(ext, "ppm") && strcasecmp(ext, "pam")) {
			fprintf(stderr, "imgdecode: %s: output must end in .png, .ppm or .pam\n", out);
			usage(stderr);
			return 2;
		}
	}
	if (mime && !img_format_known(mime)) {
		fprintf(stderr, "imgdecode: unknown format hint: %s\n", mime);
		return 2;
	}

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
	} else if (spawn || hv_conn_connect_portal(NULL, "image", &conn) < 0) {
		r = hv_imagedecoder_spawn(NULL, exe, NULL, &conn, &child);
		if (r < 0) {
			fprintf(stderr, "imgdecode: cannot reach an ImageDecoder: %s\n", strerror(-r));
			free(data);
			return 1;
		}
	}
	cli_adopt(conn);

	image_decoder_server_decoded_image img;
	r = hv_imagedecoder_decode_sized(conn, data, len, ideal_w, ideal_h, mime, &img);
	free(data);
	bool decoded = r == 0;
	int rc = 0;
	if (r < 0) {
		const hv_ipc_error *e = hv_conn_last_error(conn);
		if (e->remote)
			fprintf(stderr, "imgdecode: %s: %s: %s\n", in, kind_of(e->code), e->message);
		else
			cli_fail(conn, r, in);
		rc = 1;
	} else if (info) {
		printf("%s %ux%u %u frame%s loop %u", img.format, img.width, img.height, img.frame_count,
		       img.frame_count == 1 ? "" : "s", img.loop_count);
		if (img.is_animated) {
			printf(" durations");
			for (size_t i = 0; i < img.durations.count; i++)
				printf(" %u", img.durations.items[i]);
		}
		if (img.orientation > 1)
			printf(" orientation %u", img.orientation);
		if (img.hotspot.present)
			printf(" hotspot %d,%d", img.hotspot.value.x, img.hotspot.value.y);
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
			if (r != -EIO)
				fprintf(stderr, "imgdecode: %s: %s\n", out, strerror(-r));
			rc = 1;
		}
	}
	if (decoded)
		hv_bitmap_release(&img.frames);
	hv_conn_close(conn);
	if (child > 0)
		waitpid(child, NULL, 0);
	return rc;
}
