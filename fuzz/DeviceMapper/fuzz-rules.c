/* fuzz-devicemapper-rules — DeviceMapper's rules parser (rules.c) on any
 * text: it must not crash, and every rule it keeps must be safe: each
 * SYMLINK a name under /dev, no mode beyond 0777, and no mode giving the
 * device to everyone without AllowWorld=true. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct dm_rules rules = {0};
	if (dm_rules_load_string("fuzz.ini", text, &rules) == 0)
		for (size_t i = 0; i < rules.n; i++) {
			const struct dm_rule *r = &rules.v[i];
			if (r->mode > 0777 || ((r->mode & 0006) && !r->allow_world))
				abort();
			for (size_t j = 0; j < r->symlinks.n; j++)
				if (!dm_dev_path_ok(r->symlinks.v[j]))
					abort();
		}
	dm_rules_free(&rules);
	free(text);
	return 0;
}
