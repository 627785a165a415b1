/* net-client.c — names of NetworkServer.ipc's numbers (net-client.h). */
#include "net-client.h"

#include <stdio.h>
#include <sys/socket.h>

const char *net_client_state_name(uint8_t state)
{
	static const char *const names[] = {"unknown", "notpresent", "down", "lowerlayerdown",
					    "testing", "dormant", "up"};
	return state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

static const char *number(uint8_t n, char *buf)
{
	snprintf(buf, 12, "%u", n);
	return buf;
}

const char *net_client_scope_name(uint8_t scope, char *buf)
{
	switch (scope) {
	case 0: return "global";
	case 200: return "site";
	case 253: return "link";
	case 254: return "host";
	}
	return number(scope, buf);
}

const char *net_client_protocol_name(uint8_t protocol, char *buf)
{
	switch (protocol) {
	case 2: return "kernel";
	case 3: return "boot";
	case 4: return "static";
	case 9: return "ra";
	case 16: return "dhcp";
	}
	return number(protocol, buf);
}

const char *net_client_type_name(uint8_t type, char *buf)
{
	switch (type) {
	case 1: return "unicast";
	case 6: return "blackhole";
	case 7: return "unreachable";
	case 8: return "prohibit";
	}
	return number(type, buf);
}

const char *net_client_family_name(uint8_t family) { return family == AF_INET6 ? "inet6" : "inet"; }
