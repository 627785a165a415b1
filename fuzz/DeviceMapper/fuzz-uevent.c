/* fuzz-devicemapper-uevent — DeviceMapper's uevent parser (uevent.c) on
 * whatever a netlink datagram may hold. A message it accepts must keep
 * the promises uevent.h makes: a devpath starting with '/' with no ".."
 * part, a name that is its last part, a DEVNAME that stays under /dev,
 * every property a non-empty key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "uevent.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dm_uevent ev;
	if (dm_uevent_parse(data, size, &ev) < 0)
		return 0;
	if (ev.devpath[0] != '/' || strstr(ev.devpath, "/../") || strstr(ev.devpath, "//"))
		abort();
	if (strcmp(strrchr(ev.devpath, '/') + 1, ev.name) || (ev.devname && !dm_dev_path_ok(ev.devname)))
		abort();
	for (size_t i = 0; i < ev.nprops; i++)
		if (!ev.props[i].key[0] || strchr(ev.props[i].key, '='))
			abort();
	return 0;
}
