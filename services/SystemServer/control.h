/* control.h — SystemServer's control endpoint (SystemServer.ipc) at
 * <portal dir>/SystemServer: list, status, start, stop, restart, reload,
 * logs (with follow), shutdown. Used by `svc`. */
#pragma once

#include "manager.h"

typedef struct ss_control ss_control;

/* Listen on <portal dir>/SystemServer (mode 0600 in user mode, 0666 in
 * system mode where mutating requests need uid 0). */
int ss_control_start(ss_manager *m, ss_control **out);
void ss_control_free(ss_control *c); /* NULL-safe */
HV_DEFINE_CLEANUP(ss_control *, ss_control_free)
