/* fuzz-chess-uci — the UCI front end's command parser (`ChessEngine
 * --uci`): any line but "go" (which starts a search thread; its
 * arguments are fuzzed through ch_uci_parse_go instead). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ch_uci *u;
	static FILE *null;
	if (!u) {
		null = fopen("/dev/null", "w");
		if (!null || ch_uci_new(null, &u) < 0)
			abort();
	}
	if (size > 4096)
		return 0;
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	const char *s = line;
	while (isspace((unsigned char)*s))
		s++;
	if (!strncmp(s, "go", 2)) {
		ch_limits lim = {0};
		int perft;
		ch_uci_parse_go(s + 2, &lim, &perft);
	} else if (strncmp(s, "quit", 4)) {
		ch_uci_command(u, line);
	}
	free(line);
	return 0;
}
