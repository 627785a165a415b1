/* uevent.h — the kernel's uevent messages: who may send them and what
 * they say. The one parser of outside input in DeviceMapper besides the
 * rules (fuzz/DeviceMapper). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The kernel's UEVENT_BUFFER_SIZE is 2048 and UEVENT_NUM_ENVP 64; a
 * synthetic uevent adds SYNTH_ARG_* (bounded by the same buffer). Anything
 * larger is not from the kernel. */
#define DM_UEVENT_MAX_BYTES 8192
#define DM_UEVENT_MAX_PROPS 128

/* DeviceMapper.ipc's Action values. */
enum dm_action {
	DM_ADD = 1, DM_REMOVE, DM_CHANGE, DM_MOVE, DM_ONLINE, DM_OFFLINE, DM_BIND, DM_UNBIND,
};

struct dm_prop {
	const char *key, *value;
};

/* A parsed uevent: every string points into `buf`. */
struct dm_uevent {
	enum dm_action action;
	const char *devpath;   /* "/devices/…": starts with '/', no ".." part */
	const char *subsystem; /* may be "" (the kernel sends none for some) */
	const char *name;      /* last component of devpath */
	const char *devname;   /* DEVNAME, relative to /dev; NULL if none */
	uint64_t seqnum;
	bool has_devt;	       /* MAJOR and MINOR given */
	unsigned major, minor;
	size_t nprops;
	struct dm_prop props[DM_UEVENT_MAX_PROPS];
	char buf[DM_UEVENT_MAX_BYTES + 1];
};

/* Parse one kernel message ("ACTION@DEVPATH\0KEY=VALUE\0…"). -EINVAL when
 * it is not a well-formed uevent: no '@' header, a property without '=',
 * an empty key, ACTION/DEVPATH missing or disagreeing with the header, an
 * unknown action, a devpath or DEVNAME with a ".." or empty component or
 * a DEVNAME that is absolute, MAJOR/MINOR not numbers, too many
 * properties; -EMSGSIZE past DM_UEVENT_MAX_BYTES. Messages starting
 * "libudev" (udevd's own re-broadcasts) are -EPROTO. */
int dm_uevent_parse(const void *data, size_t len, struct dm_uevent *ev);

/* The value of key, or NULL. */
const char *dm_uevent_get(const struct dm_uevent *ev, const char *key);

/* Whether a datagram came from the kernel on the uevent group: the sender
 * address's nl_pid is 0 (a user socket's is its port id, never 0), it was
 * sent to group 1, and SCM_CREDENTIALS (when present) say pid 0, uid 0.
 * addr/addrlen: recvmsg's msg_name; msg: for its control messages. */
bool dm_uevent_from_kernel(const struct msghdr *msg);

const char *dm_action_name(enum dm_action a);
int dm_action_parse(const char *s); /* enum value or -EINVAL */

/* A relative path under /dev (DEVNAME, a SYMLINK=): not empty, not
 * absolute, no "", "." or ".." component, no control characters, shorter
 * than PATH_MAX. */
bool dm_dev_path_ok(const char *p);
