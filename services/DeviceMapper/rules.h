/* rules.h — DeviceMapper's rules: INI files, one rule per section, that
 * match devices and say who owns their node, its mode, its symlinks and
 * extra properties (docs/devicemapper.md, "Rules").
 *
 *   [loop devices for the disk group]
 *   SUBSYSTEM=block
 *   KERNEL=loop*
 *   ATTR{loop/backing_file}=/srv/images/disk-?.img
 *   ENV{ID_FS_TYPE}=ext4
 *   GROUP=disk
 *   MODE=0660
 *   SYMLINK=haven/test-loop
 *   SETENV{HAVEN_ROLE}=scratch
 *
 * Every match must hold (values are fnmatch globs); every matching rule
 * applies, in file-name then file order, later settings winning (SYMLINK
 * and SETENV accumulate). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <haven/util.h>

#include "uevent.h"

#define DM_RULES_MAX 4096	 /* rules over all files */
#define DM_RULE_MAX_MATCHES 32	 /* ATTR{}/ENV{} per rule */
#define DM_RULE_MAX_SYMLINKS 16

enum dm_match_kind { DM_MATCH_ATTR, DM_MATCH_ENV };
struct dm_match {
	enum dm_match_kind kind;
	char *key, *glob;
};

struct dm_rule {
	char *name; /* the section's */
	char *file;
	int line;
	char *subsystem, *kernel; /* globs; NULL: any */
	struct dm_match matches[DM_RULE_MAX_MATCHES];
	size_t nmatches;
	bool set_owner, set_group, set_mode, allow_world;
	uid_t owner;
	gid_t group;
	mode_t mode;
	hv_strv symlinks;
	hv_strv setenv; /* "KEY=VALUE" */
};

struct dm_rules {
	struct dm_rule *v;
	size_t n;
	unsigned errors; /* file:line errors logged while loading */
};

/* Load every "*.ini" file of dir, in name order (a missing dir is no
 * rules). Errors are logged "file:line: …" and the rule in error is
 * dropped, the rest kept; the count is in rules->errors. -ENOMEM, or
 * -errno when dir cannot be read. */
int dm_rules_load_dir(const char *dir, struct dm_rules *rules);
/* Parse text as if it were the file `name` (tests, fuzzing). */
int dm_rules_load_string(const char *name, const char *text, struct dm_rules *rules);
void dm_rules_free(struct dm_rules *rules);

/* Reads the attribute `name` of the device (sysfs); NULL when it has none.
 * The result is malloc'd. */
typedef char *(*dm_attr_fn)(const char *devpath, const char *name, void *ud);

/* What the matching rules say for ev. */
struct dm_outcome {
	bool set_owner, set_group, set_mode;
	uid_t owner;
	gid_t group;
	mode_t mode;
	hv_strv symlinks; /* relative to the dev root, each checked */
	hv_strv setenv;
	unsigned matched;
};
int dm_rules_apply(const struct dm_rules *rules, const struct dm_uevent *ev, dm_attr_fn attr,
		   void *ud, struct dm_outcome *out);
void dm_outcome_clear(struct dm_outcome *o);
