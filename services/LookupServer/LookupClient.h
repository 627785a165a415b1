/* LookupClient.h — the client library of LookupServer.ipc (as SerenityOS's
 * LibConfig beside ConfigServer): reaching the service, and the names of
 * its types, statuses and verdicts in both directions. Calls themselves are
 * the generated ones (lookup_server_lookup(), ...). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "LookupServer.ipc.h"

/* The portal SystemServer serves LookupServer on. */
#define LOOKUP_CLIENT_PORTAL "lookup"

/* Connect to socket_path, or to the portal when it is NULL. Negative errno. */
int lookup_client_connect(const char *socket_path, hv_conn **out);

/* "AAAA" (any case) → 28; -EINVAL for a type the service does not know. */
int lookup_client_type_parse(const char *name, uint16_t *out);
/* 28 → "AAAA"; "?" for others. */
const char *lookup_client_type_name(uint16_t type);
/* "no such name", "server failure", ...; "secure", "insecure", "bogus";
 * "hosts", "cache", "network". */
const char *lookup_client_status_name(uint8_t status);
const char *lookup_client_status_id(uint8_t status); /* "NoSuchName": for JSON */
const char *lookup_client_validation_name(uint8_t validation);
const char *lookup_client_source_name(uint8_t source);
