/* svc.h — the verbs of svc that live outside main.c. */
#pragma once

#include <stdbool.h>

#include <haven/ipc.h>

/* `svc introspect TARGET [--json]` and `svc call TARGET MESSAGE [ARG...]`
 * (introspect.c). TARGET is a service name, whose socket the manager
 * names (manager(ud) gives the manager's connection, NULL when there is
 * none: its error said), or a socket path (it has a '/'). The exit code. */
int svc_introspect(const char *target, bool json, hv_conn *(*manager)(void *), void *ud);
int svc_call(const char *target, const char *msg, int argc, char **argv, hv_conn *(*manager)(void *),
	     void *ud);
