/* devices-client.c — the DeviceMapper client library (devices-client.h). */
#include <errno.h>
#include <string.h>

#include "devices-client.h"

int dmc_connect(hv_loop *loop, const char *socket_path, hv_conn **out)
{
	return socket_path ? hv_conn_connect(loop, socket_path, out) : hv_conn_connect_portal(loop, DMC_PORTAL, out);
}

static int on_event(hv_call *call, const device_mapper_client_device_event_req *req)
{
	const dmc_watcher *w = hv_conn_userdata(hv_call_conn(call));
	if (w && w->cb)
		w->cb(req->action, &req->device, w->userdata);
	return 0;
}

static const device_mapper_client_handlers event_handlers = {.device_event = on_event};

int dmc_subscribe(hv_conn *c, const char *const *subsystems, size_t n, const dmc_watcher *w)
{
	if (hv_conn_userdata(c) != w) {
		if (hv_conn_userdata(c))
			return -EBUSY;
		int r = hv_conn_serve(c, &device_mapper_client_endpoint, &event_handlers);
		if (r < 0)
			return r;
		hv_conn_set_userdata(c, (void *)w);
	}
	return device_mapper_subscribe(c, (hv_vec_bytestring){(const char **)subsystems, n});
}

const char *dmc_prop(const device_mapper_device *d, const char *key)
{
	for (size_t i = 0; i < d->properties.count; i++)
		if (strcmp(d->properties.items[i].key, key) == 0)
			return d->properties.items[i].value;
	return NULL;
}

const char *dmc_action_name(device_mapper_action a)
{
	static const char *const names[] = {"?", "add", "remove", "change", "move", "online", "offline",
					    "bind", "unbind"};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
