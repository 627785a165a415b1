/* fuzz-dhcp-options — the DHCP message parser (services/DHCPClient/
 * packet.c): what any host on the link may send to port 68. Input: a
 * BOOTP/DHCP message; the parse must either refuse it (-EBADMSG/-EPROTO)
 * or give counts within their arrays, prefixes within 32 and printable
 * text. The same bytes are also read as an IPv4/UDP datagram (the packet
 * socket's path), with and without an unfinished checksum. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n >= cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhc_msg m;
	int r = dhc_parse(data, size, &m);
	if (r != 0 && r != -EBADMSG && r != -EPROTO)
		abort();
	if (r == 0) {
		if (m.n_routers > DHC_MAX_ROUTERS || m.n_dns > DHC_MAX_DNS || m.n_routes > DHC_MAX_ROUTES)
			abort();
		for (unsigned i = 0; i < m.n_routes; i++)
			if (m.routes[i].len > 32)
				abort();
		if (m.mtu && m.mtu < 68)
			abort();
		check_text(m.domain, sizeof(m.domain));
		check_text(m.message, sizeof(m.message));
	}
	for (int unfinished = 0; unfinished < 2; unfinished++) {
		const uint8_t *payload;
		size_t plen;
		if (dhc_unwrap_udp(data, size, unfinished, &payload, &plen) == 0 &&
		    (payload < data || payload + plen > data + size))
			abort();
	}
	return 0;
}
