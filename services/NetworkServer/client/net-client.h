/* net-client.h — the client library of NetworkServer.ipc (as LibConfig
 * beside ConfigServer): the portal, and the names of the protocol's
 * numbers as `ip` prints them. The calls are the generated ones
 * (network_server_list(), ...); events are NetworkClient.ipc's. */
#pragma once

#include <stdint.h>

#include "NetworkClient.ipc.h"
#include "NetworkServer.ipc.h"

/* The portal SystemServer serves NetworkServer on. */
#define NET_CLIENT_PORTAL "network"

/* "up", "down", "lowerlayerdown", ... (IF_OPER_*, as `ip -j` spells them
 * in lower case). */
const char *net_client_state_name(uint8_t state);
/* "global", "link", "host", "site", or the number. buf: at least 12 bytes. */
const char *net_client_scope_name(uint8_t scope, char *buf);
/* "kernel", "boot", "static", "dhcp", "ra", or the number. */
const char *net_client_protocol_name(uint8_t protocol, char *buf);
/* "unicast", "blackhole", "unreachable", "prohibit", or the number. */
const char *net_client_type_name(uint8_t type, char *buf);
/* "inet" / "inet6". */
const char *net_client_family_name(uint8_t family);
