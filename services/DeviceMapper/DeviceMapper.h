/* DeviceMapper.h — what the parts of DeviceMapper share: options, the
 * device table, the kernel's socket and the endpoint's handlers. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/ipc.h>
#include <haven/options.h>
#include <haven/util.h>

#include "DeviceMapper.ipc.h"
#include "DeviceMapperClient.ipc.h"
#include "rules.h"
#include "uevent.h"

/* Its command line (process.c). */
struct dm_options {
	const char *rules_dir; /* --rules DIR */
	const char *dev_root;  /* --dev-root DIR */
	const char *sys_root;  /* --sys DIR */
	bool no_trigger;       /* --no-trigger: no coldplug */
	bool make_nodes;       /* --make-nodes: mknod what devtmpfs did not make */
};
extern struct dm_options dm_opts;
extern const hv_option dm_options[];
int dm_setup(hv_server *srv);
void dm_teardown(int exit_code);

/* One known device. */
struct dm_kv {
	char *key, *value;
};
struct dm_dev {
	char *devpath, *subsystem, *name;
	char *devname; /* DEVNAME (relative to the dev root) or NULL */
	uint64_t seqnum;
	struct dm_kv *props;
	size_t nprops;
	hv_strv links; /* symlinks made for it */
	bool made_node, block;
	unsigned major, minor;
};

/* The service's state (DeviceMapper.c). */
struct dm_state {
	struct dm_rules rules;
	int devfd, sysfd, nlfd;
	struct dm_dev **devs;
	size_t ndevs, cap;
	uint64_t events, dropped, overruns, last_seqnum;
	struct dm_peer *subscribers;
	size_t nsubscribers;
};
extern struct dm_state dm;

/* Each client's state. */
struct dm_peer {
	bool subscribed;
	hv_strv subsystems;
	struct dm_peer *next, **pprev;
	hv_conn *conn;
};
int dm_peer_init(hv_conn *c, void *state);
void dm_peer_fini(hv_conn *c, void *state);
extern const device_mapper_handlers dm_handlers;

/* Apply rules to ev, update the table, tell subscribers (broadcast false:
 * coldplug). */
void dm_handle_uevent(const struct dm_uevent *ev, bool broadcast);
void dm_free_devices(void);

/* The kernel's side (netlink.c): open the uevent socket (group 1), read
 * what is queued on it now, coldplug from /sys. */
int dm_netlink_open(void);
void dm_netlink_drain(void);
int dm_coldplug(void);
