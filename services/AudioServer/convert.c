/* convert.c — a stream's samples to the mixer's float stereo, and the
 * limiter at the end of the mix. Runs on the mixing thread: no allocation,
 * no locks, no calls that may block.
 *
 * Down-mix (WAVE channel order; c = 1/sqrt 2, each side normalised by the
 * sum of its coefficients so a full-scale input stays full scale):
 *   1 mono       L = R = M
 *   2 stereo     as is
 *   3 FL FR FC                    L = FL + cFC
 *   4 FL FR BL BR                 L = FL + cBL
 *   5 FL FR FC BL BR              L = FL + cFC + cBL
 *   6 FL FR FC LFE BL BR (5.1)    L = FL + cFC + cBL        (LFE dropped)
 *   7 FL FR FC LFE BC SL SR       L = FL + cFC + cBC + cSL
 *   8 FL FR FC LFE BL BR SL SR    L = FL + cFC + cBL + cSL  (7.1)
 * and R the mirror image. */
#include <math.h>
#include <string.h>

#include "AudioServer.h"

#define C 0.70710678f

/* Per channel count, per input channel: (left, right) gains before
 * normalisation. */
static const float matrix[AUS_MAX_CHANNELS + 1][AUS_MAX_CHANNELS][2] = {
	[3] = {{1, 0}, {0, 1}, {C, C}},
	[4] = {{1, 0}, {0, 1}, {C, 0}, {0, C}},
	[5] = {{1, 0}, {0, 1}, {C, C}, {C, 0}, {0, C}},
	[6] = {{1, 0}, {0, 1}, {C, C}, {0, 0}, {C, 0}, {0, C}},
	[7] = {{1, 0}, {0, 1}, {C, C}, {0, 0}, {C, C}, {C, 0}, {0, C}},
	[8] = {{1, 0}, {0, 1}, {C, C}, {0, 0}, {C, 0}, {0, C}, {C, 0}, {0, C}},
};

static inline float clean(float v)
{
	/* NaN fails both comparisons: it becomes 0. */
	if (v >= -1.0f && v <= 1.0f)
		return v;
	return v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : 0.0f;
}

static inline float sample(const void *src, unsigned format, size_t i)
{
	switch (format) {
	case AUDIO_SERVER_SAMPLE_FORMAT_S16: {
		int16_t v;
		memcpy(&v, (const uint8_t *)src + i * 2, 2);
		return (float)v * (1.0f / 32768.0f);
	}
	case AUDIO_SERVER_SAMPLE_FORMAT_S32: {
		int32_t v;
		memcpy(&v, (const uint8_t *)src + i * 4, 4);
		return (float)((double)v * (1.0 / 2147483648.0));
	}
	default: {
		float v;
		memcpy(&v, (const uint8_t *)src + i * 4, 4);
		return clean(v);
	}
	}
}

void aus_to_stereo(const void *src, unsigned format, unsigned channels, size_t frames, float *dst)
{
	if (channels == 1) {
		for (size_t f = 0; f < frames; f++)
			dst[2 * f] = dst[2 * f + 1] = sample(src, format, f);
		return;
	}
	if (channels == 2) {
		for (size_t i = 0; i < frames * 2; i++)
			dst[i] = sample(src, format, i);
		return;
	}
	if (channels > AUS_MAX_CHANNELS) { /* refused at open; silence if ever */
		memset(dst, 0, frames * 2 * sizeof(float));
		return;
	}
	const float(*m)[2] = matrix[channels];
	float norm_l = 0, norm_r = 0;
	for (unsigned c = 0; c < channels; c++) {
		norm_l += m[c][0];
		norm_r += m[c][1];
	}
	for (size_t f = 0; f < frames; f++) {
		float l = 0, r = 0;
		for (unsigned c = 0; c < channels; c++) {
			float v = sample(src, format, f * channels + c);
			l += m[c][0] * v;
			r += m[c][1] * v;
		}
		dst[2 * f] = l / norm_l;
		dst[2 * f + 1] = r / norm_r;
	}
}

void aus_limit(float *buf, size_t n)
{
	const float k = AUS_LIMIT_KNEE, room = 1.0f - AUS_LIMIT_KNEE;
	for (size_t i = 0; i < n; i++) {
		float v = buf[i], a = fabsf(v);
		if (a <= k)
			continue;
		/* Slope 1 at the knee (no kink), approaching 1.0 from below. */
		float y = k + room * tanhf((a - k) / room);
		buf[i] = v < 0 ? -y : y;
	}
}
