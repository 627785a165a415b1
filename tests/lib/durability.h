/* durability.h — check the order of a service's durability calls without
 * a power cut: durability-shim.so (LD_PRELOAD) logs every write to a
 * regular file, fsync and rename; dur_check asserts, for each rename onto
 * a file, fsync(file) < rename < fsync(directory) (before the name is
 * replaced again: one directory fsync may cover several renames), no
 * write to the file
 * between its fsync and the rename, and that the last file renamed is the
 * one on disk now. The shim's path comes from $HV_DURABILITY_SHIM (set by
 * meson); under AddressSanitizer (which must be the first library loaded)
 * the check is skipped. */
#pragma once

#include <stdbool.h>

/* Services started after this (same process, until dur_end) carry the
 * shim, logging to `log`. false: unavailable, say so and skip the check. */
bool dur_begin(const char *log);
void dur_end(void);
/* Checks every rename onto basename(path) in log; at least `min` of them.
 * Failed checks say what was out of order. */
void dur_check(const char *log, const char *path, int min);
