/* EchoServer.h — EchoServer's handlers, for main.c. */
#pragma once

#include <haven/ipc.h>

#include "EchoServer.ipc.h"

/* The handlers table of the EchoServer endpoint (EchoServer.c). */
extern const echo_server_handlers echo_handlers;

/* Give each connection of srv its own counters (for Stats). */
void echo_server_track_connections(hv_server *srv);
