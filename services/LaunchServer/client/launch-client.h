/* launch-client.h — the client library of LaunchServer.ipc (as SerenityOS's
 * LibDesktop Launcher): reaching the service, and the path-or-URL work a
 * caller should not repeat (absolute paths, handing the file's content
 * over as an fd). Calls themselves are the generated ones
 * (launch_server_open_url(), ...). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "LaunchServer.ipc.h"

/* The portal SystemServer serves LaunchServer on. */
#define LAUNCH_CLIENT_PORTAL "launch"

/* Connect to socket_path, or to the portal when it is NULL. Negative errno. */
int launch_client_connect(const char *socket_path, hv_conn **out);

/* Whether arg is a URL (SCHEME: with an RFC 3986 scheme of 2+ characters)
 * rather than a path. */
bool launch_client_is_url(const char *arg);

/* arg as an absolute path (relative to the working directory), malloc'd;
 * -ENOMEM, -ENAMETOOLONG. The file need not exist. */
int launch_client_absolute(const char *arg, char **out);

/* Open a path or URL with handler ("" for the default): a path is made
 * absolute and its content passed as an fd (so a service that cannot see
 * the file still sniffs it); a URL goes as it is. handler_used (valid until
 * the next call on c) and pid may be NULL. */
int launch_client_open(hv_conn *c, const char *arg, const char *handler, int32_t *pid,
		       const char **handler_used);

/* What a path is (classify_file with its content) — the CLI's `type`. */
int launch_client_classify(hv_conn *c, const char *arg, launch_server_classification *out);

/* Handlers of a path or URL, with details, and what it is. */
int launch_client_handlers(hv_conn *c, const char *arg, launch_server_classification *type,
			   hv_vec_launch_server_handler *handlers);
