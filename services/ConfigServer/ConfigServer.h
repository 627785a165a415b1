/* ConfigServer.h — ConfigServer's handlers and service state, for main.c. */
#pragma once

#include <stdbool.h>

#include <haven/ipc.h>
#include <haven/util.h>

#include "ConfigServer.ipc.h"
#include "store.h"

/* The handlers table of the ConfigServer endpoint (ConfigServer.c). */
extern const config_server_handlers cfg_handlers;

typedef struct cfg_service cfg_service;

/* Each client's state (the service description's conn_size): the domains
 * it pledged to stay within, and those it monitors. Lists are short (a
 * client names its own few). */
typedef struct cfg_client {
	hv_strv pledged;
	bool has_pledged, permissive;
	hv_strv monitored;
} cfg_client;
void cfg_client_fini(hv_conn *conn, void *state);

/* Announce store changes to monitoring clients, and pick up hand edits
 * through the server's loop. */
int cfg_service_init(hv_server *srv, cfg_store *store);
/* The user's settings directory: $XDG_CONFIG_HOME/haven, else
 * ~/.config/haven (logged and -ENOENT when neither is an absolute path). */
int cfg_default_dir(const char **out);
