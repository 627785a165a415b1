/* DeviceMapper — the system's device manager, a small udev: the kernel's
 * uevents (and /sys at start) become device nodes' owners and modes,
 * symlinks under /dev and events to subscribers.
 *
 *   DeviceMapper [--socket PATH] [--rules DIR] [--dev-root DIR] [--sys DIR]
 *                [--no-trigger] [--make-nodes]
 *
 * Sandbox: reads /sys (attributes for ATTR{} rules); under the dev root it
 * makes nodes, symlinks and directories and changes owners and modes; the
 * kernel's uevent socket was opened before; no network, no exec. */
#include <haven/service.h>

#include "DeviceMapper.h"

static const hv_service device_mapper = {
	.name = "DeviceMapper",
	.summary = "Serves DeviceMapper.ipc: devices from the kernel's uevents, rules applied\n"
		   "to their nodes under /dev, events to subscribers.",
	.endpoint = &device_mapper_endpoint,
	.handlers = &dm_handlers,
	.options = dm_options,
	.conn_size = sizeof(struct dm_peer),
	.conn_init = dm_peer_init,
	.conn_fini = dm_peer_fini,
	.setup = dm_setup,
	.teardown = dm_teardown,
	.unveil = (const hv_unveil_rule[]){
		HV_UNVEIL(dm_opts.sys_root, "r"),
		/* "rc", no "w": nodes are made, linked, chown'd and chmod'ed,
		 * never opened for writing. */
		HV_UNVEIL(dm_opts.dev_root, "rc"),
		{0}},
	/* cpath: symlinks, directories; dpath: nodes devtmpfs did not make;
	 * fattr/chown: the rules' MODE, OWNER, GROUP. */
	.pledge = "stdio rpath cpath dpath fattr chown",
};

int main(int argc, char **argv) { return hv_service_main(&device_mapper, argc, argv); }
