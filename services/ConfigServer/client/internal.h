/* internal.h — what client.c shares with follow.c (not installed). */
#pragma once

#include "config-client.h"

/* Serve ConfigClient's events on c for w (c's userdata becomes w). */
int conf_serve_events(hv_conn *c, const conf_watcher *w);
