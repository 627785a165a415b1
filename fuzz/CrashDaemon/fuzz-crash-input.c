/* fuzz-crashdaemon-input — what CrashDaemon parses from outside: a core's
 * note segment (notes.c: NT_PRSTATUS, NT_SIGINFO; a core comes from
 * whatever crashed) and the store's index (store.c; a file in the user's
 * directory). Input: a first byte, even for notes, odd for an index, then
 * the bytes. Parsed values must stay within their fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "unwind.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (!(data[0] & 1)) {
		static struct crash_info ci;
		memset(&ci, 0, sizeof(ci));
		crash_parse_notes(data + 1, size - 1, &ci);
		if (ci.nregs > CRASH_MAX_REGS)
			abort();
		return 0;
	}
	crash_entry *v = NULL;
	size_t n = 0;
	if (crash_index_parse((const char *)data + 1, size - 1, "fuzz", &v, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (strlen(v[i].id) != CRASH_ID_LEN || !v[i].count ||
			    strnlen(v[i].exe, sizeof(v[i].exe)) >= sizeof(v[i].exe))
				abort();
		free(v);
	}
	return 0;
}
