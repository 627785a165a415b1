/* LookupClient.c — see LookupClient.h. */
#include "LookupClient.h"

#include <errno.h>
#include <strings.h>

static const struct {
	uint16_t type;
	const char *name;
} types[] = {
	{LOOKUP_SERVER_RECORD_TYPE_A, "A"},	{LOOKUP_SERVER_RECORD_TYPE_AAAA, "AAAA"},
	{LOOKUP_SERVER_RECORD_TYPE_CNAME, "CNAME"}, {LOOKUP_SERVER_RECORD_TYPE_MX, "MX"},
	{LOOKUP_SERVER_RECORD_TYPE_TXT, "TXT"}, {LOOKUP_SERVER_RECORD_TYPE_SRV, "SRV"},
	{LOOKUP_SERVER_RECORD_TYPE_PTR, "PTR"}, {LOOKUP_SERVER_RECORD_TYPE_NS, "NS"},
	{LOOKUP_SERVER_RECORD_TYPE_SOA, "SOA"}, {LOOKUP_SERVER_RECORD_TYPE_CAA, "CAA"},
};

int lookup_client_connect(const char *socket_path, hv_conn **out)
{
	return socket_path ? hv_conn_connect(NULL, socket_path, out)
			   : hv_conn_connect_portal(NULL, LOOKUP_CLIENT_PORTAL, out);
}

int lookup_client_type_parse(const char *name, uint16_t *out)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(name, types[i].name)) {
			*out = types[i].type;
			return 0;
		}
	return -EINVAL;
}

const char *lookup_client_type_name(uint16_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].name;
	return "?";
}

const char *lookup_client_status_name(uint8_t status)
{
	static const char *const names[] = {"ok", "no such name", "no data", "server failure",
					    "timeout", "refused", "bogus (DNSSEC validation failed)"};
	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}

const char *lookup_client_status_id(uint8_t status)
{
	static const char *const ids[] = {"Ok", "NoSuchName", "NoData", "ServerFailure",
					  "Timeout", "Refused", "Bogus"};
	return status < sizeof(ids) / sizeof(ids[0]) ? ids[status] : "?";
}

const char *lookup_client_validation_name(uint8_t v)
{
	static const char *const names[] = {"insecure", "secure", "bogus"};
	return v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

const char *lookup_client_source_name(uint8_t s)
{
	static const char *const names[] = {"hosts", "cache", "network"};
	return s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}
