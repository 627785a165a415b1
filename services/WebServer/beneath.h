/* beneath.h — open a path so that it resolves beneath a directory, never
 * out of it: "..", absolute symlinks and symlinks that climb out fail with
 * EXDEV, symlinks that stay inside are followed. */
#pragma once

#include <stdbool.h>

/* open(rel, flags) resolved beneath the directory fd root ("" is root
 * itself). Uses openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS); where it
 * answers ENOSYS (lib/sandbox's filter: it cannot read open_how's flags
 * under a read-only pledge) sets *no_openat2 and from then on walks the
 * path in user space with the same answers (beneath.c). Returns the fd
 * or a negative errno (-EXDEV: a way out; -ELOOP: too many links). */
int ws_open_beneath(int root, const char *rel, int flags, bool *no_openat2);
