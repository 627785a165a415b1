/* fmt-pnm.c — Netpbm: PBM, PGM, PPM (ASCII P1-P3 and binary P4-P6) and PAM
 * (P7, with alpha), 1- to 16-bit samples scaled to 8 bits with rounding.
 * Written here; every token and sample read is bounds-checked. */
#include <stdlib.h>

#include "decoders.h"

struct pnm {
	const uint8_t *p, *end, *start;
};

static void skip_space(struct pnm *s)
{
	while (s->p < s->end) {
		if (*s->p == '#') {
			while (s->p < s->end && *s->p != '\n')
				s->p++;
		} else if (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r' ||
			   *s->p == '\v' || *s->p == '\f') {
			s->p++;
		} else {
			break;
		}
	}
}

/* A decimal number after optional space; -1 truncated, -2 not a number. */
static int64_t read_uint(struct pnm *s, uint32_t max)
{
	skip_space(s);
	if (s->p >= s->end)
		return -1;
	if (*s->p < '0' || *s->p > '9')
		return -2;
	uint64_t v = 0;
	while (s->p < s->end && *s->p >= '0' && *s->p <= '9') {
		v = v * 10 + (uint64_t)(*s->p++ - '0');
		if (v > max)
			return -2;
	}
	return (int64_t)v;
}

static int num_fail(img_ctx *c, struct pnm *s, int64_t v, const char *what)
{
	if (v == -1)
		return img_fail(c, IMG_ETRUNCATED, "pnm: data ends before the %s", what);
	return img_fail(c, IMG_ECORRUPT, "pnm: bad %s at byte %zu", what, (size_t)(s->p - s->start));
}

/* PAM header: "KEY value" lines up to ENDHDR. */
static int pam_header(img_ctx *c, struct pnm *s, uint32_t *w, uint32_t *h, uint32_t *depth, uint32_t *maxval)
{
	*w = *h = *depth = *maxval = 0;
	for (;;) {
		skip_space(s);
		const uint8_t *k = s->p;
		while (s->p < s->end && *s->p > ' ')
			s->p++;
		size_t kl = (size_t)(s->p - k);
		if (kl == 0)
			return img_fail(c, IMG_ETRUNCATED, "pam: header ends early");
		uint32_t *dst = NULL, lim = IMG_MAX_DIMENSION;
		if (kl == 6 && memcmp(k, "ENDHDR", 6) == 0) {
			if (s->p < s->end && *s->p == '\r')
				s->p++;
			if (s->p >= s->end || *s->p != '\n')
				return img_fail(c, IMG_ETRUNCATED, "pam: no newline after ENDHDR");
			s->p++;
			return 0;
		} else if (kl == 5 && memcmp(k, "WIDTH", 5) == 0) {
			dst = w;
		} else if (kl == 6 && memcmp(k, "HEIGHT", 6) == 0) {
			dst = h;
		} else if (kl == 5 && memcmp(k, "DEPTH", 5) == 0) {
			dst = depth;
			lim = 4;
		} else if (kl == 6 && memcmp(k, "MAXVAL", 6) == 0) {
			dst = maxval;
			lim = 65535;
		}
		if (dst) {
			int64_t v = read_uint(s, lim);
			if (v < 0)
				return num_fail(c, s, v, "PAM header value");
			*dst = (uint32_t)v;
		} else { /* TUPLTYPE and unknown keys: the rest of the line */
			while (s->p < s->end && *s->p != '\n')
				s->p++;
		}
	}
}

int img_decode_pnm(img_ctx *c)
{
	if (c->len < 3)
		return img_fail(c, IMG_ETRUNCATED, "pnm: header truncated");
	struct pnm s = {.p = c->data + 2, .end = c->data + c->len, .start = c->data};
	char kind = (char)c->data[1];
	uint32_t w, h, depth, maxval = 1;
	int r;
	if (c->data[0] != 'P' || kind < '1' || kind > '7')
		return img_fail(c, IMG_ECORRUPT, "pnm: bad magic number");
	if (kind == '7') {
		if ((r = pam_header(c, &s, &w, &h, &depth, &maxval)) < 0)
			return r;
		if (depth < 1 || depth > 4 || maxval < 1)
			return img_fail(c, IMG_ECORRUPT, "pam: bad DEPTH %u or MAXVAL %u", depth, maxval);
		c->img->format = "pam";
	} else {
		int64_t v;
		if ((v = read_uint(&s, IMG_MAX_DIMENSION)) < 0)
			return num_fail(c, &s, v, "width");
		w = (uint32_t)v;
		if ((v = read_uint(&s, IMG_MAX_DIMENSION)) < 0)
			return num_fail(c, &s, v, "height");
		h = (uint32_t)v;
		if (kind != '1' && kind != '4') {
			if ((v = read_uint(&s, 65535)) < 0 || v == 0)
				return num_fail(c, &s, v, "maxval");
			maxval = (uint32_t)v;
		}
		depth = kind == '3' || kind == '6' ? 3 : 1;
		c->img->format = kind == '1' || kind == '4' ? "pbm" : kind == '2' || kind == '5' ? "pgm" : "ppm";
		if (kind >= '4') { /* exactly one whitespace byte before binary data */
			if (s.p >= s.end)
				return img_fail(c, IMG_ETRUNCATED, "pnm: data ends after the header");
			s.p++;
		}
	}
	if ((r = img_set_size(c, w, h)) < 0)
		return r;
	uint8_t *px;
	if ((r = img_add_frame(c, 0, &px)) < 0)
		return r;

	bool ascii = kind >= '1' && kind <= '3', bits = kind == '4';
	bool pbm = kind == '1' || kind == '4';
	size_t sample_bytes = maxval > 255 ? 2 : 1;
	size_t row_bytes = bits ? (w + 7) / 8 : (size_t)w * depth * sample_bytes;
	if (!ascii && (size_t)(s.end - s.p) / row_bytes < h)
		return img_fail(c, IMG_ETRUNCATED, "pnm: pixel data ends before row %zu",
				   (size_t)(s.end - s.p) / row_bytes);
	for (uint32_t y = 0; y < h; y++) {
		uint8_t *o = px + (size_t)y * w * 4;
		for (uint32_t x = 0; x < w; x++, o += 4) {
			uint32_t v[4] = {0, 0, 0, 0};
			for (uint32_t k = 0; k < depth; k++) {
				if (bits) {
					v[k] = (s.p[x / 8] >> (7 - x % 8)) & 1;
				} else if (ascii) {
					if (kind == '1') { /* digits may be packed without spaces */
						skip_space(&s);
						if (s.p >= s.end)
							return img_fail(c, IMG_ETRUNCATED, "pbm: data ends at row %u", y);
						if (*s.p != '0' && *s.p != '1')
							return img_fail(c, IMG_ECORRUPT, "pbm: bad digit at byte %zu",
									   (size_t)(s.p - s.start));
						v[k] = (uint32_t)(*s.p++ - '0');
					} else {
						int64_t n = read_uint(&s, maxval);
						if (n < 0)
							return num_fail(c, &s, n, "sample");
						v[k] = (uint32_t)n;
					}
				} else {
					const uint8_t *q = s.p + ((size_t)x * depth + k) * sample_bytes;
					v[k] = sample_bytes == 2 ? img_rd_be16(q) : *q;
					if (v[k] > maxval)
						return img_fail(c, IMG_ECORRUPT, "pnm: sample above maxval at byte %zu",
								   (size_t)(q - s.start));
				}
			}
			if (pbm) { /* PBM: 1 is black */
				o[0] = o[1] = o[2] = v[0] ? 0 : 255;
				o[3] = 255;
				continue;
			}
			uint8_t s8[4] = {0, 0, 0, 0};
			for (uint32_t k = 0; k < depth; k++)
				s8[k] = (uint8_t)((v[k] * 255 + maxval / 2) / maxval);
			if (depth <= 2) {
				o[0] = o[1] = o[2] = s8[0];
				o[3] = depth == 2 ? s8[1] : 255;
			} else {
				o[0] = s8[2], o[1] = s8[1], o[2] = s8[0];
				o[3] = depth == 4 ? s8[3] : 255;
			}
		}
		if (!ascii)
			s.p += row_bytes;
		if ((r = img_check_cancel(c)) < 0)
			return r;
	}
	return 0;
}
