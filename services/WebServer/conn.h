/* conn.h — one worker's connections: reading pipelined requests, writing
 * responses (headers and small files with writev, large ones with
 * sendfile), timeouts and the connection limit. */
#pragma once

#include <haven/loop.h>

#include "file.h"
#include "server.h"

typedef struct ws_worker ws_worker;

/* A worker serving the listening sockets fds[0..n-1] from root. */
int ws_worker_new(hv_loop *loop, ws_root *root, const ws_config *cfg, const int *fds, int n,
		  ws_worker **out);
void ws_worker_free(ws_worker *w);
