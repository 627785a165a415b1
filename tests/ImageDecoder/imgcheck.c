/* imgcheck.c — test driver for the decoding core, run by corpus.sh:
 *   imgcheck compare IN TOL REF...   decode IN in-process and compare frame i
 *                                    with REF i (raw RGBA from ImageMagick or
 *                                    a lossless source), max |diff| <= TOL
 *   imgcheck scaled IN WxH TOL REF   decode IN with the ideal size WxH and
 *                                    compare as above (REF at the fitted size)
 *   imgcheck info IN                 print "format WxH frames loop"
 *   imgcheck expect IN ERROR         decoding must fail with ERROR (truncated,
 *                                    corrupt, toolarge, unsupported)
 *   imgcheck robust IN               every truncation point (sampled) and
 *                                    seeded byte flips: clean result, and a
 *                                    half-truncated file must fail
 * Exit 0 on success, 1 with a reason on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "imgcheck: cannot open %s: %m\n", path);
		exit(1);
	}
	struct stat st;
	fstat(fileno(f), &st);
	uint8_t *buf = malloc((size_t)st.st_size + 1);
	if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "imgcheck: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	*len = (size_t)st.st_size;
	return buf;
}

/* Ideal size for the "scaled" command (0x0: none). */
static uint32_t ideal_w, ideal_h;

static int decode_file(const char *path, img_image *img, img_error *err)
{
	size_t len;
	uint8_t *data = slurp(path, &len);
	img_options opt;
	img_options_default(&opt);
	opt.ideal_width = ideal_w;
	opt.ideal_height = ideal_h;
	int r = img_decode(data, len, &opt, NULL, img, err);
	free(data);
	return r;
}

static int cmd_compare(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	const char *in = argv[2];
	int tol = atoi(argv[3]);
	img_image img;
	img_error err;
	if (decode_file(in, &img, &err) < 0) {
		fprintf(stderr, "FAIL %s: decode error %d: %s\n", in, err.code, err.message);
		return 1;
	}
	int nref = argc - 4, rc = 0;
	if ((int)img.frame_count != nref) {
		fprintf(stderr, "FAIL %s: %u frames, reference has %d\n", in, img.frame_count, nref);
		img_free(&img);
		return 1;
	}
	size_t npx = (size_t)img.width * img.height;
	int worst = 0;
	for (int i = 0; i < nref && rc == 0; i++) {
		size_t rlen;
		uint8_t *ref = slurp(argv[4 + i], &rlen);
		if (rlen != npx * 4) {
			fprintf(stderr, "FAIL %s: frame %d is %ux%u, reference has %zu bytes\n", in, i,
				img.width, img.height, rlen);
			rc = 1;
		}
		const uint8_t *px = img.frames[i].pixels;
		for (size_t p = 0; rc == 0 && p < npx; p++) {
			const uint8_t *o = px + p * 4, *r = ref + p * 4; /* BGRA vs RGBA */
			int d[4] = {abs(o[2] - r[0]), abs(o[1] - r[1]), abs(o[0] - r[2]), abs(o[3] - r[3])};
			if (o[3] == 0 && r[3] == 0)
				d[0] = d[1] = d[2] = 0; /* colour of invisible pixels is free */
			for (int k = 0; k < 4; k++) {
				if (d[k] > worst)
					worst = d[k];
				if (d[k] > tol) {
					fprintf(stderr,
						"FAIL %s: frame %d pixel (%zu,%zu) channel %d: got %d %d %d %d, want %d %d %d %d (tolerance %d)\n",
						in, i, p % img.width, p / img.width, k, o[2], o[1], o[0], o[3], r[0],
						r[1], r[2], r[3], tol);
					rc = 1;
					break;
				}
			}
		}
		free(ref);
	}
	if (rc == 0)
		printf("ok %s: %s %ux%u, %u frame(s), max diff %d (tolerance %d)\n", in, img.format,
		       img.width, img.height, img.frame_count, worst, tol);
	img_free(&img);
	return rc;
}

static int cmd_info(const char *in)
{
	img_image img;
	img_error err;
	if (decode_file(in, &img, &err) < 0) {
		fprintf(stderr, "FAIL %s: %s\n", in, err.message);
		return 1;
	}
	printf("%s %ux%u %u %u", img.format, img.width, img.height, img.frame_count, img.loop_count);
	for (uint32_t i = 0; i < img.frame_count; i++)
		printf(" %u", img.frames[i].duration_ms);
	printf("\n");
	img_free(&img);
	return 0;
}

static int code_of(const char *name)
{
	if (!strcmp(name, "truncated"))
		return IMG_ETRUNCATED;
	if (!strcmp(name, "corrupt"))
		return IMG_ECORRUPT;
	if (!strcmp(name, "toolarge"))
		return IMG_ETOOLARGE;
	if (!strcmp(name, "unsupported"))
		return IMG_EUNSUPPORTED;
	return 0;
}

static int cmd_expect(const char *in, const char *what)
{
	img_image img;
	img_error err;
	int r = decode_file(in, &img, &err);
	if (r >= 0) {
		fprintf(stderr, "FAIL %s: decoded (%ux%u) but %s was expected\n", in, img.width, img.height, what);
		img_free(&img);
		return 1;
	}
	if (r != code_of(what) || err.message[0] == 0) {
		fprintf(stderr, "FAIL %s: error %d (%s), expected %s\n", in, r, err.message, what);
		return 1;
	}
	printf("ok %s: %s: %s\n", in, what, err.message);
	return 0;
}

static int cmd_robust(const char *in)
{
	size_t len;
	uint8_t *data = slurp(in, &len);
	img_image img;
	img_error err;
	/* Truncations: 64 points spread over the file, plus the first bytes. */
	for (size_t k = 0; k <= 64; k++) {
		size_t cut = k < 16 ? k : len * (k - 16) / 48;
		if (cut >= len)
			continue;
		uint8_t *copy = malloc(cut + 1); /* exact size: ASan sees overreads */
		memcpy(copy, data, cut);
		int r = img_decode(copy, cut, NULL, NULL, &img, &err);
		free(copy);
		if (r == 0) {
			img_free(&img);
			if (cut <= len / 2) {
				fprintf(stderr, "FAIL %s: cut to %zu of %zu bytes still decoded\n", in, cut, len);
				free(data);
				return 1;
			}
		} else if (err.message[0] == 0 || r != err.code) {
			fprintf(stderr, "FAIL %s: cut to %zu: error %d without a reason\n", in, cut, r);
			free(data);
			return 1;
		}
	}
	/* Mutations: deterministic pseudo-random byte changes. */
	uint32_t seed = 2166136261u;
	int failed = 0, ok = 0;
	for (int round = 0; round < 200; round++) {
		uint8_t *copy = malloc(len);
		memcpy(copy, data, len);
		for (int j = 0; j < 1 + round % 4; j++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			copy[at] ^= (uint8_t)(1u << ((seed >> 16) % 8));
		}
		int r = img_decode(copy, len, NULL, NULL, &img, &err);
		free(copy);
		if (r == 0) {
			ok++;
			img_free(&img);
		} else {
			failed++;
			if (err.message[0] == 0) {
				fprintf(stderr, "FAIL %s: mutation %d: error %d without a reason\n", in, round, r);
				free(data);
				return 1;
			}
		}
	}
	printf("ok %s: truncations clean; 200 mutations: %d decoded, %d refused\n", in, ok, failed);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "compare"))
		return cmd_compare(argc, argv);
	if (argc >= 6 && !strcmp(argv[1], "scaled")) {
		if (sscanf(argv[3], "%ux%u", &ideal_w, &ideal_h) != 2)
			return 2;
		/* The same argument layout as compare, without WxH. */
		argv[3] = argv[2];
		return cmd_compare(argc - 1, argv + 1);
	}
	if (argc == 3 && !strcmp(argv[1], "info"))
		return cmd_info(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "expect"))
		return cmd_expect(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "robust"))
		return cmd_robust(argv[2]);
	fprintf(stderr, "usage: imgcheck compare IN TOL REF... | info IN | expect IN ERROR | robust IN\n");
	return 2;
}
