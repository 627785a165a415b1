/* fuzz-networkserver-rtnetlink — what NetworkServer reads from the kernel:
 * a buffer of rtnetlink messages (links, addresses, routes, new and
 * deleted, malformed ones among them) parsed (rtmsg.c) and applied to the
 * model (state.c) by the same function the monitor socket uses. The input
 * is fed twice (a repeat must change nothing) and the model must stay
 * coherent: NUL-terminated names, addresses under existing links. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netlink.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned changes;
static void count(const nws_msg *m, nws_change ch, void *ud) { changes++; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink messages are 4-byte aligned in the kernel's buffers. */
	void *buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	nws_state s = {0};
	nws_netlink_feed(&s, buf, size, count, NULL, NULL);
	for (size_t i = 0; i < s.n; i++) {
		if (strnlen(s.ifaces[i].link.name, sizeof s.ifaces[i].link.name) >= sizeof s.ifaces[i].link.name)
			abort();
		for (size_t k = 0; k < s.ifaces[i].naddrs; k++)
			if (s.ifaces[i].addrs[k].index != s.ifaces[i].link.index)
				abort();
	}
	nws_state_clear(&s);
	free(buf);
	return 0;
}
