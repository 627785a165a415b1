/* check.h — the assertions every Haven test uses.
 *
 * CHECK* print file:line and the failed expression, count the failure and
 * go on, so one run shows every broken check; a test's main ends with
 * `return check_result();`. REQUIRE* abort at once, for what the rest of a
 * test cannot do without (sanitizers and meson see the abort). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern int check_failures;

#define CHECK_FAIL_(...)                                                                   \
	do {                                                                               \
		fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                            \
		fprintf(stderr, __VA_ARGS__);                                              \
		fputc('\n', stderr);                                                       \
		check_failures++;                                                          \
	} while (0)

#define CHECK(cond)                                                                        \
	do {                                                                               \
		if (!(cond))                                                               \
			CHECK_FAIL_("CHECK failed: %s", #cond);                            \
	} while (0)
/* CHECK_MSG(cond, fmt, ...): the failure says what was being checked. */
#define CHECK_MSG(cond, ...)                                                               \
	do {                                                                               \
		if (!(cond))                                                               \
			CHECK_FAIL_(__VA_ARGS__);                                          \
	} while (0)
#define CHECK_EQ(a, b)                                                                     \
	do {                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                        \
		if (_a != _b)                                                              \
			CHECK_FAIL_("%s == %lld, expected %lld", #a, _a, _b);              \
	} while (0)
#define CHECK_STR(a, b)                                                                    \
	do {                                                                               \
		const char *_a = (a), *_b = (b);                                           \
		if (!_a || strcmp(_a, _b) != 0)                                            \
			CHECK_FAIL_("%s is \"%s\", expected \"%s\"", #a, _a ? _a : "(null)", _b); \
	} while (0)

#define REQUIRE(cond)                                                                      \
	do {                                                                               \
		if (!(cond)) {                                                             \
			CHECK_FAIL_("REQUIRE failed: %s", #cond);                          \
			abort();                                                           \
		}                                                                          \
	} while (0)
#define REQUIRE_EQ(a, b)                                                                   \
	do {                                                                               \
		long long _a = (long long)(a), _b = (long long)(b);                        \
		if (_a != _b) {                                                            \
			CHECK_FAIL_("REQUIRE_EQ failed: %s == %lld, expected %s == %lld", #a, _a, \
				    #b, _b);                                               \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* Prints the count of failed checks, if any; 0 when none failed, else 1. */
int check_result(void);

/* Run fn() in a forked child with a private mount namespace, so mounts it
 * makes (a tiny tmpfs to fill, a read-only bind) are seen by it and the
 * services it starts and vanish with them, never the machine's. Its failed
 * checks fail one check here, named by `what`. Where mount namespaces are
 * refused it says so on stderr and returns: the case is skipped. */
void check_in_mount_namespace(const char *what, void (*fn)(void));
