/* fuzz-theme.c — WindowServer's theme parser on arbitrary text: it must
 * accept or refuse without crashing, and what it accepts must format to
 * text that parses back to the same theme (what clients are sent). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <haven/log.h>

#include "theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	if (!quiet++)
		hv_log_set_level(HV_LOG_ERROR);
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct ws_theme t, back;
	if (ws_theme_parse(&t, "fuzz", text) == 0) {
		char out[4096];
		if (ws_theme_format(&t, out, sizeof(out)) < 0 || ws_theme_parse(&back, "fuzz", out) != 0 ||
		    memcmp(&t, &back, sizeof(t)))
			abort();
	}
	free(text);
	return 0;
}
