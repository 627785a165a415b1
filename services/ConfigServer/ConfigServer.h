/* ConfigServer.h — ConfigServer's handlers and service state, for main.c. */
#pragma once

#include <stdbool.h>

#include <haven/ipc.h>

#include "ConfigServer.ipc.h"
#include "store.h"

/* The handlers table of the ConfigServer endpoint (ConfigServer.c). */
extern const config_server_handlers config_handlers;

typedef struct config_service config_service;

/* Track srv's connections (pledges, monitors), announce store changes to
 * monitoring clients, and pick up hand edits through the server's loop. */
int config_service_init(hv_server *srv, hv_config_store *store);
/* The user's settings directory: $XDG_CONFIG_HOME/haven, else
 * ~/.config/haven (logged and -ENOENT when neither is an absolute path). */
int config_default_dir(const char **out);

/* "true/false", "1/0", "yes/no", "on/off" (any case): 0, else -EINVAL. */
int config_parse_bool(const char *v, bool *out);
