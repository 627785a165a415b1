/* nodes.h — what DeviceMapper does under /dev (or --dev-root): a device
 * node's owner and mode, the node itself where devtmpfs did not make it,
 * and symlinks. Every path is walked from the root's fd one component at
 * a time with O_NOFOLLOW: a symlink it did not make is never followed, and
 * nothing outside the root is reached (names are dm_dev_path_ok). */
#pragma once

#include <stdbool.h>

#include "rules.h"
#include "uevent.h"

/* The node of ev (DEVNAME; MAJOR/MINOR): with `make`, created when missing
 * (block for SUBSYSTEM=block, else char; mode 0600 root unless o says
 * otherwise; *made is then true; without, a missing node is left to
 * devtmpfs: 0), then given o's owner, group and mode. -ENOTBLK/-EEXIST
 * when what is there is not that device's node (a symlink, a file, another
 * device): left alone. */
int dm_node_apply(int rootfd, const struct dm_uevent *ev, const struct dm_outcome *o, bool make,
		  bool *made);
/* Remove the node dev_name if it is still the device major:minor (only
 * nodes DeviceMapper made are passed here). */
int dm_node_remove(int rootfd, const char *dev_name, bool block, unsigned major, unsigned minor);

/* The symlink `link` (relative to the root) to the node dev_name,
 * relative ("../loop0" for "haven/test-loop"); replaces a symlink already
 * there (atomically, by rename), never anything else (-EEXIST). */
int dm_link_make(int rootfd, const char *link, const char *dev_name);
/* Remove `link` if it is a symlink to dev_name (as dm_link_make made it). */
int dm_link_remove(int rootfd, const char *link, const char *dev_name);
/* The target dm_link_make writes for link → dev_name, into buf. */
int dm_link_target(const char *link, const char *dev_name, char *buf, size_t size);
