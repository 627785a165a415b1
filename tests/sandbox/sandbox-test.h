/* tests/sandbox/sandbox-test.h — what the sandbox tests share: run a
 * function in a forked child and report how that child ended. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* How a child ended: exit code (>= 0) or -signal. stderr of the child is
 * captured into err (NUL-terminated, truncated to errsize). */
typedef int (*child_fn)(void *arg);
int run_child(child_fn fn, void *arg, char *err, size_t errsize);

/* Failures are counted, not fatal, so one run reports every case. */
#include "check.h"

/* mkdtemp under /tmp; removed (recursively) by test_tmpdir_cleanup(). */
const char *test_tmpdir(void);
void test_tmpdir_cleanup(void);
