/* EchoServer.h — EchoServer's handlers, for main.c. */
#pragma once

#include <haven/ipc.h>

#include "EchoServer.ipc.h"

/* The handlers table of the EchoServer endpoint (EchoServer.c). */
extern const echo_server_handlers echo_handlers;

/* Each client's counters, for Stats: the per-connection state. */
struct echo_conn {
	uint64_t pings, discards, discard_bytes;
};
