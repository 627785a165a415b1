/* control.h — SystemServer's control endpoint (SystemServer.ipc) at
 * <portal dir>/SystemServer: list, status, start, stop, restart, reload,
 * logs (with follow), shutdown. Used by `svc`. */
#pragma once

#include "manager.h"

typedef struct hv_control hv_control;

/* Listen on <portal dir>/SystemServer (mode 0600 in user mode, 0666 in
 * system mode where mutating requests need uid 0). */
int hv_control_start(hv_manager *m, hv_control **out);
void hv_control_free(hv_control *c); /* NULL-safe */
