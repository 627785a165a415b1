/* fileop-client.h — the FileOperation client library: reach a
 * FileOperation process (the "fileop" portal, a socket, or one spawned for
 * the caller), hand it the files of an operation as directory fds, and the
 * names of its enums. Events arrive through the generated
 * FileOperationClient handlers on the caller's loop. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include <haven/ipc.h>

#include "FileOperationClient.ipc.h"
#include "FileOperationServer.ipc.h"

#define FILEOP_PORTAL "fileop"
/* Sources one operation takes (FileOperationServer.ipc's MaxLength). */
#define FILEOP_MAX_SOURCES 64

/* The FileOperation executable to spawn: $HAVEN_FILEOPERATION, else the
 * one built with this library, else the installed one. */
const char *fileop_default_exe(void);
/* Connect to socket_path, or (NULL) the "fileop" portal. */
int fileop_connect(hv_loop *loop, const char *socket_path, hv_conn **out);
/* Start a FileOperation process of our own on a socket pair, as the
 * manager would (LISTEN_FDS), and connect to it. *pid is the child. */
int fileop_spawn(hv_loop *loop, const char *exe, hv_conn **out, pid_t *pid);

/* Where `path` is, as the service takes it: its directory opened
 * (O_PATH) and its last component (malloc'd). "." and "..", a trailing
 * "/" and "/" itself are resolved first. */
int fileop_split(const char *path, int *dirfd, char **name);

/* Parse "ask", "skip", "overwrite", "keep-both" / "continue", "abort". */
int fileop_parse_conflict(const char *s, file_operation_server_conflict *out);
int fileop_parse_on_error(const char *s, file_operation_server_on_error *out);
