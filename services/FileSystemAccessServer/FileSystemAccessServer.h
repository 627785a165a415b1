/* FileSystemAccessServer.h — what the files of FileSystemAccessServer
 * share: handlers and questions (FileSystemAccessServer.c), who a peer is
 * (identity.c), the remembered grants (grants.c), opening a path without
 * following links (resolve.c), the process (process.c). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <haven/ipc.h>

#include "FileSystemAccessAgent.ipc.h"
#include "FileSystemAccessServer.ipc.h"

/* Seconds a question waits for an answer before it is denied. */
#define FSA_PROMPT_TIMEOUT_S 60
/* Questions waiting at once, over all clients, and per client. */
#define FSA_MAX_PENDING 256
#define FSA_MAX_PENDING_PER_CLIENT 8
/* Grants kept (the file is read whole at start). */
#define FSA_MAX_GRANTS 4096
#define FSA_GRANTS_FILE "grants"

/* Who a peer is: its executable as the kernel names it, for the uid. */
typedef struct fsa_identity {
	pid_t pid;
	uid_t uid;
	char exe[PATH_MAX];
} fsa_identity;

/* Each connection's state (the service description's conn_size). */
struct fsa_peer {
	bool identified;
	bool trusted; /* an --agent-exe executable */
	bool agent;   /* registered */
	unsigned pending;
	fsa_identity id;
};

extern const file_system_access_server_handlers fsa_handlers;

/* process.c: options and hooks. */
extern const char *fsa_state_dir;
extern int64_t fsa_prompt_timeout_s;
extern hv_strv fsa_agent_exes;
int fsa_parse_agent_exe(const char *arg, void *target);
int fsa_setup(hv_server *srv);
void fsa_teardown(int code);
void fsa_peer_fini(hv_conn *c, void *state);

/* identity.c: the peer of c, from the pidfd the kernel recorded at
 * connect (SO_PEERPIDFD): the pid cannot have been reused for another
 * process while its executable is read. */
int fsa_identify(hv_conn *c, fsa_identity *out);

/* notify.c: a question as a NotificationServer notification with
 * actions, when no agent is registered. 0: shown (cb(qid, decision) comes
 * later, decision < 0 for dismissed); < 0: NotificationServer unreachable. */
typedef void (*fsa_notify_cb)(uint64_t qid, int decision);
int fsa_notify_ask(hv_loop *loop, uint64_t qid, const char *text, int timeout_ms, fsa_notify_cb cb);
void fsa_notify_withdraw(uint64_t qid);

/* resolve.c: open an absolute path for `access`, one component at a time
 * with O_NOFOLLOW: a symbolic link anywhere is -ELOOP, never followed. */
int fsa_check_path(const char *path);
int fsa_open(const char *path, file_system_access_server_access access);

/* grants.c: the store, in fsa_state_dir/grants, replaced durably on each
 * change. Parsing is separate for the fuzz target. */
typedef struct fsa_grant {
	uid_t uid;
	file_system_access_server_access access;
	int64_t granted_at;
	char *exe;
	char *path;
} fsa_grant;
typedef struct fsa_grants {
	fsa_grant *v;
	size_t n;
} fsa_grants;
int fsa_grants_parse(const char *text, size_t len, const char *file, fsa_grants *out);
void fsa_grants_clear(fsa_grants *g);
int fsa_grants_load(int dirfd);
int fsa_grants_save(void);
bool fsa_grants_allow(const fsa_identity *id, const char *path, file_system_access_server_access access);
int fsa_grants_add(const fsa_identity *id, const char *path, file_system_access_server_access access);
int fsa_grants_revoke(const char *exe, const char *path, uid_t uid, uint32_t *removed);
const fsa_grants *fsa_grants_all(void);
