/* mimeapps.h — mimeapps.list (the MIME Applications Associations
 * specification 1.0.1): [Default Applications], [Added Associations] and
 * [Removed Associations] of one file; the order of the files is db.c's. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <haven/util.h>

/* One type's list in one group. */
struct lch_assoc {
	char *type;
	hv_strv ids;
};

struct lch_mimeapps {
	char *file;
	int data_dir; /* index of the data directory it belongs to; -1: a config directory */
	struct lch_assoc *defaults, *added, *removed;
	size_t ndefaults, nadded, nremoved;
};

/* Parse text as file (errors: "FILE:LINE: why" in err, -EINVAL). Keys
 * of other groups are ignored. */
int lch_mimeapps_parse(const char *text, size_t len, const char *file, struct lch_mimeapps *out,
		       char *err, size_t err_size);
void lch_mimeapps_clear(struct lch_mimeapps *m);
/* The ids of type in one group's list, or NULL. */
const hv_strv *lch_mimeapps_find(const struct lch_assoc *v, size_t n, const char *type);

/* text (the current file, may be NULL) with type's default set to id in
 * [Default Applications] — the group added when missing, every other line
 * kept as it was — malloc'd into *out. */
int lch_mimeapps_with_default(const char *text, const char *type, const char *id, char **out);
