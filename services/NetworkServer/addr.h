/* addr.h — the text forms NetworkServer accepts and stores: "A/P"
 * addresses and "DEST [via GW] [metric N]" routes (the same words as
 * `ip route`), for requests, the Network domain's values and the CLI. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nws_prefix {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t bytes[16];
	uint8_t len;
} nws_prefix;

typedef struct nws_route_spec {
	nws_prefix dst; /* "default": len 0, family from the gateway (else AF_INET) */
	bool has_gw;
	uint8_t gw[16];
	uint32_t metric;
} nws_route_spec;

/* "192.0.2.1/24", "2001:db8::1/64"; with need_prefix false a bare address
 * is a host prefix (/32, /128). -EINVAL: not an address; -ERANGE: the
 * prefix is not a number within 0..32 / 0..128. */
int nws_prefix_parse(const char *s, bool need_prefix, nws_prefix *out);
/* "default" or a prefix; gateway "" or an address of the same family.
 * -EINVAL (bad address, mixed families), -ERANGE (bad prefix). */
int nws_route_parse(const char *dst, const char *gw, uint32_t metric, nws_route_spec *out);
/* "DEST [via GW] [metric N]" → the same; -EINVAL for other words. */
int nws_route_parse_line(const char *line, nws_route_spec *out);
/* Text forms back, into buf (at least NWS_TEXT_MAX bytes). */
#define NWS_TEXT_MAX 96
void nws_prefix_format(const nws_prefix *p, char *buf);
void nws_route_format(const nws_route_spec *r, char *buf);
/* "192.0.2.1" of family's bytes. */
void nws_addr_format(uint8_t family, const uint8_t *bytes, char *buf, size_t size);
