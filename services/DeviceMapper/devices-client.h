/* devices-client.h — the DeviceMapper client library: connect, list, and
 * follow device events (what WindowServer's input backend, AudioServer
 * or NetworkServer would link). Prefix dmc_; the protocol's generated
 * calls (device_mapper_list, …) are used on the connection as they are. */
#pragma once

#include <stddef.h>

#include <haven/ipc.h>

#include "DeviceMapper.ipc.h"
#include "DeviceMapperClient.ipc.h"

/* The portal SystemServer serves DeviceMapper on (etc/services/DeviceMapper.ini). */
#define DMC_PORTAL "devices"

/* Connect to socket_path, or (NULL) to the DMC_PORTAL portal. */
int dmc_connect(hv_loop *loop, const char *socket_path, hv_conn **out);

/* Called for every event; the device lives until the callback returns. */
typedef void (*dmc_event_cb)(device_mapper_action action, const device_mapper_device *device, void *ud);
typedef struct dmc_watcher {
	dmc_event_cb cb;
	void *userdata;
} dmc_watcher;
/* Subscribe c to the events of these subsystems (n == 0: all), delivered
 * to w (which must outlive c; it becomes c's userdata) on c's loop or
 * from hv_conn_dispatch. */
int dmc_subscribe(hv_conn *c, const char *const *subsystems, size_t n, const dmc_watcher *w);

/* A property of d, or NULL. */
const char *dmc_prop(const device_mapper_device *d, const char *key);
/* "add", "remove", … */
const char *dmc_action_name(device_mapper_action a);
