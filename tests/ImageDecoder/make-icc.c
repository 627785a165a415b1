/* make-icc.c — writes the ICC profiles the colour test needs, with lcms2
 * (Debian ships no Display P3 or Adobe RGB profile in a package we use):
 *
 *   make-icc srgb|p3|adobe|gray18 OUT
 *
 * p3: Display P3 (P3 primaries, D65, sRGB's curve); adobe: Adobe RGB
 * (1998) primaries, D65, gamma 563/256; gray18: gray, D65, gamma 1.8. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <lcms2.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: make-icc srgb|p3|adobe|gray18 OUT\n");
		return 2;
	}
	cmsCIExyY d65 = {0.3127, 0.3290, 1.0};
	cmsHPROFILE p = NULL;
	if (!strcmp(argv[1], "srgb")) {
		p = cmsCreate_sRGBProfile();
	} else if (!strcmp(argv[1], "p3") || !strcmp(argv[1], "adobe")) {
		bool p3 = !strcmp(argv[1], "p3");
		static const double srgb_trc[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
		cmsCIExyYTRIPLE prim = p3 ? (cmsCIExyYTRIPLE){{0.680, 0.320, 1}, {0.265, 0.690, 1}, {0.150, 0.060, 1}}
					  : (cmsCIExyYTRIPLE){{0.640, 0.330, 1}, {0.210, 0.710, 1}, {0.150, 0.060, 1}};
		cmsToneCurve *t = p3 ? cmsBuildParametricToneCurve(NULL, 4, srgb_trc) : cmsBuildGamma(NULL, 563.0 / 256);
		cmsToneCurve *curves[3] = {t, t, t};
		p = cmsCreateRGBProfile(&d65, &prim, curves);
		cmsFreeToneCurve(t);
	} else if (!strcmp(argv[1], "gray18")) {
		cmsToneCurve *t = cmsBuildGamma(NULL, 1.8);
		p = cmsCreateGrayProfile(&d65, t);
		cmsFreeToneCurve(t);
	} else {
		fprintf(stderr, "make-icc: unknown profile %s\n", argv[1]);
		return 2;
	}
	if (!p || !cmsSaveProfileToFile(p, argv[2])) {
		fprintf(stderr, "make-icc: could not write %s\n", argv[2]);
		return 1;
	}
	cmsCloseProfile(p);
	return 0;
}
