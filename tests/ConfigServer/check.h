/* check.h — assertions for the ConfigServer tests: print file:line and the
 * failed expression, count the failure and go on (main reports the count),
 * so one run shows every broken check. */
#pragma once

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
				#cond);                                                    \
			failures++;                                                        \
		}                                                                          \
	} while (0)
#define CHECK_EQ_INT(a, b)                                                                 \
	do {                                                                               \
		long long _a = (a), _b = (b);                                              \
		if (_a != _b) {                                                            \
			fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__,     \
				__LINE__, #a, _a, _b);                                     \
			failures++;                                                        \
		}                                                                          \
	} while (0)
#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *_a = (a), *_b = (b);                                           \
		if (!_a || strcmp(_a, _b) != 0) {                                          \
			fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, \
				__LINE__, #a, _a ? _a : "(null)", _b);                     \
			failures++;                                                        \
		}                                                                          \
	} while (0)
