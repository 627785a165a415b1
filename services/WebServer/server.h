/* server.h — WebServer's process: options, sockets, workers, connections.
 *
 * main.c describes the service (options, sandbox); ws_main runs it:
 * the root and mime.types are opened, the listening sockets taken from the
 * manager (LISTEN_FDS) or bound from --listen/--port, the root unveiled
 * read-only, then N workers accept on the same sockets, each pledged to
 * "stdio rpath accept" (no socket of its own, no exec). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <haven/options.h>
#include <haven/util.h>

/* Defaults of the limits (options override them). */
#define WS_DEFAULT_MAX_CONNECTIONS 16384 /* per worker */
#define WS_DEFAULT_KEEPALIVE_S 75	 /* idle keep-alive connection */
#define WS_DEFAULT_HEADER_S 10		 /* a whole request head (slowloris) */
#define WS_DEFAULT_SEND_S 60		 /* no byte taken by the client */
#define WS_MAX_WORKERS 64

typedef struct ws_config {
	const char *root, *listen, *mime_types, *index;
	int64_t port, workers, max_connections, keepalive_s, header_s, send_s, cache_valid_ms;
	bool autoindex, no_access_log;
	hv_strv headers; /* "Name: value" lines added to every response */
} ws_config;

extern ws_config ws_opts;
int ws_opt_header(const char *arg, void *target); /* --header NAME: VALUE */

typedef struct ws_service {
	const char *name, *summary;
	const hv_option *options;
	const char *root_perms;	   /* the root's unveil */
	const char *worker_pledge; /* each worker's promises */
	const char *master_pledge; /* the parent of several workers */
} ws_service;

int ws_main(const ws_service *svc, int argc, char **argv);
