/* fuzz-ipcc-parse.c — libFuzzer target for ipcc's front end: arbitrary text
 * through the lexer, parser and checker and, when it is valid, the C
 * generator. Must never crash, hang or leak; imports are disabled so the
 * input cannot make it open files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ipcc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64 * 1024)
		return 0;
	ipcc_unit u;
	ipcc_unit_init(&u, NULL);
	u.allow_imports = false;
	if (ipcc_load_text(&u, "fuzz.ipc", (const char *)data, size) == 0 && ipcc_check(&u) == 0) {
		char *h = NULL, *c = NULL;
		size_t hl = 0, cl = 0;
		if (ipcc_generate(&u, &h, &hl, &c, &cl) == 0) {
			free(h);
			free(c);
		}
		FILE *null = fopen("/dev/null", "w");
		if (null) {
			ipcc_dump(&u, null);
			fclose(null);
		}
	}
	ipcc_unit_free(&u);
	return 0;
}
