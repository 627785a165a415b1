/* fuzz-lookupserver-rdata — LookupServer's own DNS data code (dns.c): the
 * presentation form of rdata a nameserver sent (through libunbound, which
 * checks only the record's length), and the name checks of client input.
 * Input: 2 bytes of type (mapped onto the types dns.c knows, plus one it
 * does not), then the rdata; the whole input is also a name. The output
 * must be a NUL-terminated string within LKS_VALUE_MAX, refusal -EBADMSG. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = {1, 2, 5, 6, 12, 15, 16, 28, 33, 257, 99};
	if (size < 2 || size > 65535 + 2)
		return 0;
	uint16_t type = types[(data[0] << 8 | data[1]) % (sizeof(types) / sizeof(types[0]))];
	static char out[LKS_VALUE_MAX];
	int r = lks_rdata_format(type, data + 2, size - 2, out);
	if (r == 0 && strnlen(out, sizeof(out)) >= sizeof(out))
		abort();
	if (r != 0 && r != -74 /* -EBADMSG */)
		abort();
	char *name = malloc(size - 1);
	if (!name)
		return 0;
	memcpy(name, data + 2, size - 2);
	name[size - 2] = '\0';
	char canon[LKS_NAME_MAX + 2];
	const char *why;
	if (lks_name_check(name, canon, &why) == 0 && strlen(canon) > LKS_NAME_MAX + 1)
		abort();
	free(name);
	return 0;
}
