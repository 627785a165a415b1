/* check.h — minimal assertions for lib/core tests: print file:line and the
 * failed expression, then abort (so sanitizers and meson see a failure). */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)
#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                        \
		if (_a != _b) {                                                            \
			fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",   \
				__FILE__, __LINE__, #a, _a, #b, _b);                       \
			abort();                                                           \
		}                                                                          \
	} while (0)
