/* netsock.h — TCP and UDP listening sockets of definitions (ListenStream=,
 * ListenDatagram=): parsed into a canonical spec string kept beside the
 * Unix socket paths in ss_svc_def.sockets, created by the manager before
 * the service starts and handed over like the Unix ones.
 *
 * A spec is "tcp:ADDR:PORT" or "udp:ADDR:PORT", ADDR an IPv4 address or an
 * IPv6 one in brackets; paths are always absolute, so the two never meet.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Longest spec: "tcp:[" + INET6_ADDRSTRLEN + "]:65535". */
#define SS_NETSOCK_SPEC_MAX 64

/* Whether a ss_svc_def.sockets entry is a network socket. */
bool ss_netsock_is(const char *spec);

/* Parse a definition's value — PORT, IPV4:PORT or [IPV6]:PORT (a bare
 * port is [::]:PORT, which takes IPv4 too) — into out (SS_NETSOCK_SPEC_MAX
 * bytes). type: SOCK_STREAM or SOCK_DGRAM. -EINVAL for a bad address,
 * -ERANGE for a port outside 1-65535. */
int ss_netsock_parse(int type, const char *value, char *out);

/* A listening (stream) or bound (datagram) socket for a spec, close-on-exec
 * and blocking. backlog: listen(2)'s; reuse_port: SO_REUSEPORT. -errno. */
int ss_netsock_open(const char *spec, int backlog, bool reuse_port);

/* A non-blocking socket connecting to spec (Readiness=socket's probe). */
int ss_netsock_connect(const char *spec);

/* The LISTEN_FDNAMES entry: "tcp-PORT" / "udp-PORT" (':' separates names). */
void ss_netsock_fdname(const char *spec, char *out, size_t size);
