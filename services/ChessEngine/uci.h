/* uci.h — ChessEngine as a UCI engine (`ChessEngine --uci`): the protocol
 * GUIs and tools speak to engines over a pipe. The command parser is a
 * function of its own, so the fuzz target and tests drive it line by line. */
#pragma once

#include <stdio.h>

#include "engine.h"

typedef struct ch_uci ch_uci;

/* A session writing to `out`. -ENOMEM. */
int ch_uci_new(FILE *out, ch_uci **res);
/* Stops and waits for a running search. */
void ch_uci_free(ch_uci *u);
/* One command line (without or with its newline). Returns 1 after "quit",
 * else 0; unknown or malformed commands are answered with an
 * "info string" line and otherwise ignored, as UCI asks. */
int ch_uci_command(ch_uci *u, const char *line);
/* Read commands from `in` until "quit" or end of input. */
int ch_uci_main(FILE *in, FILE *out);

/* Parse "go" arguments into limits (depth, nodes, movetime, wtime, btime,
 * winc, binc, movestogo, infinite). -EINVAL names nothing: UCI has no
 * error replies; absurd values are clamped. perft gets "perft N" or 0. */
int ch_uci_parse_go(const char *args, ch_limits *lim, int *perft);
