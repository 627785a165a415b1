/* FileSystemAccessServer.c — the handlers of FileSystemAccessServer.ipc,
 * one per message, and the questions they ask.
 *
 * A request the grants do not already allow becomes a question: the call
 * is held, the most recently registered prompt agent gets an `ask` (or a
 * `pick`), and a timer denies it after --prompt-timeout seconds. Nothing
 * here blocks: the answer arrives as a message on the agent's connection.
 * The path is opened only after the answer (resolve.c, no symbolic links
 * followed), so what the client gets is what the person read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <haven/log.h>
#include <haven/loop.h>

#include "FileSystemAccessServer.h"

#define MAX_AGENTS 16

struct question {
	uint64_t id;
	hv_call *call; /* held */
	hv_conn *client, *agent;
	struct fsa_peer *peer;
	bool pick, save, notified;
	file_system_access_server_access access;
	char path[PATH_MAX]; /* asked for; a pick's start directory */
	hv_timer *timer;
	struct question *next;
};

static struct question *questions;
static unsigned n_questions;
static uint64_t last_id;
static hv_conn *agents[MAX_AGENTS];
static unsigned n_agents;

static struct fsa_peer *peer_of(hv_call *call) { return hv_call_state(call); }

static hv_conn *current_agent(void)
{
	for (unsigned i = n_agents; i-- > 0;)
		if (hv_conn_is_open(agents[i]))
			return agents[i];
	return NULL;
}

static void question_free(struct question *q)
{
	for (struct question **p = &questions; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			break;
		}
	hv_timer_free(q->timer);
	if (q->notified)
		fsa_notify_withdraw(q->id);
	if (q->peer && q->peer->pending)
		q->peer->pending--;
	n_questions--;
	free(q);
}

static void answer_error(struct question *q, int code, const char *msg)
{
	hv_call_respond_error(q->call, code, msg);
	question_free(q);
}

/* The answer is in: open what was allowed and reply. */
static void answer_fd(struct question *q, const char *path, file_system_access_server_access access,
		      bool remember)
{
	int fd = fsa_open(path, access);
	if (fd < 0) {
		answer_error(q, fd, fd == -ELOOP ? "a symbolic link is in the path: not followed" : strerror(-fd));
		return;
	}
	if (remember) {
		fsa_identity id;
		/* The identity again, now: the grant is for who asked. */
		if (fsa_identify(q->client, &id) == 0)
			fsa_grants_add(&id, path, access);
	}
	if (!q->pick) {
		file_system_access_server_request_file_rep rep = {.fd = fd};
		file_system_access_server_request_file_respond(q->call, &rep);
	} else if (!q->save) {
		file_system_access_server_prompt_open_file_rep rep = {.fd = fd, .path = path};
		file_system_access_server_prompt_open_file_respond(q->call, &rep);
	} else {
		file_system_access_server_prompt_save_file_rep rep = {.fd = fd, .path = path};
		file_system_access_server_prompt_save_file_respond(q->call, &rep);
	}
	close(fd);
	question_free(q);
}

static void on_deadline(hv_loop *loop, hv_timer *t, void *ud)
{
	struct question *q = ud;
	if (q->agent && hv_conn_is_open(q->agent))
		file_system_access_agent_cancelled(q->agent, q->id);
	answer_error(q, -EACCES, "no answer in time: denied");
}

/* The notification's answer (no agent was registered). */
static void on_notify_answer(uint64_t qid, int decision)
{
	struct question *q = questions;
	while (q && q->id != qid)
		q = q->next;
	if (!q)
		return;
	q->notified = false; /* settled: nothing to withdraw */
	if (decision == FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ONCE ||
	    decision == FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS)
		answer_fd(q, q->path, q->access, decision == FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS);
	else
		answer_error(q, -EACCES, "denied by the person (notification)");
}

/* Send the question to the agent, or as a notification when there is none.
 * 0: sent; < 0: nobody to ask. */
static int send_question(struct question *q, hv_loop *loop, const char *name, const hv_vec_string *mime,
			 const fsa_identity *id)
{
	if (q->agent && !q->pick)
		return file_system_access_agent_ask(q->agent, q->id, id->pid, id->uid, id->exe, q->path, q->access);
	if (q->agent)
		return file_system_access_agent_pick(q->agent, q->id, id->pid, id->uid, id->exe, q->save, q->path,
						     name, *mime);
	if (q->pick)
		return -ENOENT; /* a pick needs an agent */
	char text[2 * PATH_MAX + 64];
	snprintf(text, sizeof text, "%s (pid %d) wants to %s %s", id->exe, (int)id->pid,
		 q->access == FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ ? "read" : "write to", q->path);
	int r = fsa_notify_ask(loop, q->id, text, (int)fsa_prompt_timeout_s * 1000, on_notify_answer);
	q->notified = r == 0;
	return r;
}

/* Hold the call and ask. HV_IPC_DEFERRED, or an error. */
static int ask(hv_call *call, bool pick, bool save, const char *path, file_system_access_server_access access,
	       const char *name, const hv_vec_string *mime, const fsa_identity *id)
{
	struct fsa_peer *peer = peer_of(call);
	hv_loop *loop = hv_conn_loop(hv_call_conn(call));
	if (n_questions >= FSA_MAX_PENDING || peer->pending >= FSA_MAX_PENDING_PER_CLIENT)
		return hv_call_fail(call, -EAGAIN, "too many questions waiting");
	struct question *q = calloc(1, sizeof *q);
	if (!q)
		return -ENOMEM;
	*q = (struct question){.id = ++last_id, .client = hv_call_conn(call), .agent = current_agent(),
			       .peer = peer, .pick = pick, .save = save, .access = access};
	snprintf(q->path, sizeof q->path, "%s", path);
	int r = send_question(q, loop, name, mime, id);
	if (r < 0) {
		free(q);
		return hv_call_fail(call, -EACCES, "no prompt agent is registered (run `fsa agent`)%s: denied",
				    pick ? "" : " and NotificationServer cannot be reached");
	}
	if ((r = hv_loop_add_timer(loop, (uint64_t)fsa_prompt_timeout_s * 1000000000ull, 0, on_deadline, q,
				   &q->timer)) < 0) {
		if (q->notified)
			fsa_notify_withdraw(q->id);
		free(q);
		return r;
	}
	q->call = hv_call_hold(call);
	q->next = questions;
	questions = q;
	n_questions++;
	peer->pending++;
	return HV_IPC_DEFERRED;
}

static int identify(hv_call *call, fsa_identity *id)
{
	int r = fsa_identify(hv_call_conn(call), id);
	return r < 0 ? hv_call_fail(call, -EPERM, "cannot tell which program is asking: %s", strerror(-r)) : 0;
}

static int on_request_file(hv_call *call, const file_system_access_server_request_file_req *req,
			   file_system_access_server_request_file_rep *rep)
{
	if (req->access > FILE_SYSTEM_ACCESS_SERVER_ACCESS_DIRECTORY)
		return hv_call_fail(call, -EINVAL, "unknown access");
	if (fsa_check_path(req->path) < 0)
		return hv_call_fail(call, -EINVAL, "the path must be absolute, without . or .. components");
	fsa_identity id;
	int r = identify(call, &id);
	if (r < 0)
		return r;
	if (fsa_grants_allow(&id, req->path, req->access)) {
		int fd = fsa_open(req->path, req->access);
		if (fd < 0)
			return hv_call_fail(call, fd, "%s: %s", req->path, strerror(-fd));
		/* Sending duplicates the fd: reply now, then close ours. */
		rep->fd = fd;
		file_system_access_server_request_file_respond(hv_call_hold(call), rep);
		close(fd);
		return HV_IPC_DEFERRED;
	}
	return ask(call, false, false, req->path, req->access, "", &(hv_vec_string){0}, &id);
}

static int on_prompt(hv_call *call, bool save, const char *start_dir, const char *name, const hv_vec_string *mime)
{
	if (*start_dir && fsa_check_path(start_dir) < 0)
		return hv_call_fail(call, -EINVAL, "the start directory must be absolute, without . or ..");
	if (save && (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")))
		return hv_call_fail(call, -EINVAL, "the suggested name must be one path component");
	fsa_identity id;
	int r = identify(call, &id);
	if (r < 0)
		return r;
	return ask(call, true, save, start_dir, save ? FILE_SYSTEM_ACCESS_SERVER_ACCESS_CREATE
						      : FILE_SYSTEM_ACCESS_SERVER_ACCESS_READ,
		   name, mime, &id);
}

static int on_prompt_open_file(hv_call *call, const file_system_access_server_prompt_open_file_req *req,
			       file_system_access_server_prompt_open_file_rep *rep)
{
	return on_prompt(call, false, req->start_dir, "", &req->mime_types);
}

static int on_prompt_save_file(hv_call *call, const file_system_access_server_prompt_save_file_req *req,
			       file_system_access_server_prompt_save_file_rep *rep)
{
	return on_prompt(call, true, req->start_dir, req->suggested_name, &(hv_vec_string){0});
}

/* The person's own tools: an --agent-exe executable of the service's uid. */
static int trusted(hv_call *call)
{
	struct fsa_peer *peer = peer_of(call);
	if (!peer->identified) {
		fsa_identity id;
		if (fsa_identify(hv_call_conn(call), &id) == 0) {
			peer->id = id;
			peer->identified = true;
			peer->trusted = id.uid == geteuid() && hv_strv_contains(&fsa_agent_exes, id.exe);
		}
	}
	if (!peer->trusted)
		return hv_call_fail(call, -EPERM, "only the person's own agent (--agent-exe) may do this");
	return 0;
}

static int on_register_agent(hv_call *call, const file_system_access_server_register_agent_req *req,
			     file_system_access_server_register_agent_rep *rep)
{
	int r = trusted(call);
	if (r < 0)
		return r;
	if (peer_of(call)->agent)
		return 0;
	if (n_agents >= MAX_AGENTS)
		return hv_call_fail(call, -EAGAIN, "%d agents are registered already", MAX_AGENTS);
	agents[n_agents++] = hv_call_conn(call);
	peer_of(call)->agent = true;
	return 0;
}

static struct question *question_of(hv_call *call, uint64_t id)
{
	for (struct question *q = questions; q; q = q->next)
		if (q->id == id && q->agent == hv_call_conn(call))
			return q;
	return NULL; /* answered, timed out, or asked of another agent */
}

static int on_answer(hv_call *call, const file_system_access_server_answer_req *req)
{
	struct question *q = question_of(call, req->id);
	if (!q || q->pick)
		return 0;
	if (req->decision == FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ONCE ||
	    req->decision == FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS)
		answer_fd(q, q->path, q->access, req->decision == FILE_SYSTEM_ACCESS_SERVER_DECISION_ALLOW_ALWAYS);
	else
		answer_error(q, -EACCES, "denied by the person");
	return 0;
}

static int on_answer_pick(hv_call *call, const file_system_access_server_answer_pick_req *req)
{
	struct question *q = question_of(call, req->id);
	if (!q || !q->pick)
		return 0;
	if (!req->path.present)
		answer_error(q, -ECANCELED, "the person did not pick a file");
	else if (fsa_check_path(req->path.value) < 0)
		answer_error(q, -EINVAL, "the agent answered with a bad path");
	else
		answer_fd(q, req->path.value, q->access, false);
	return 0;
}

static int on_list_grants(hv_call *call, const file_system_access_server_list_grants_req *req,
			  file_system_access_server_list_grants_rep *rep)
{
	int r = trusted(call);
	if (r < 0)
		return r;
	const fsa_grants *g = fsa_grants_all();
	file_system_access_server_grant *v = hv_call_calloc(call, g->n ? g->n : 1, sizeof *v);
	if (!v)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->v[i].uid == peer_of(call)->id.uid)
			v[k++] = (file_system_access_server_grant){.uid = g->v[i].uid, .executable = g->v[i].exe,
								   .path = g->v[i].path, .access = g->v[i].access,
								   .granted_at = g->v[i].granted_at};
	rep->grants = (hv_vec_file_system_access_server_grant){.items = v, .count = k};
	return 0;
}

static int on_revoke(hv_call *call, const file_system_access_server_revoke_req *req,
		     file_system_access_server_revoke_rep *rep)
{
	int r = trusted(call);
	if (r < 0)
		return r;
	return fsa_grants_revoke(req->executable, req->path, peer_of(call)->id.uid, &rep->removed);
}

/* A connection ends: its questions go, and an agent's questions are denied. */
void fsa_peer_fini(hv_conn *c, void *state)
{
	for (struct question *q = questions, *next; q; q = next) {
		next = q->next;
		if (q->client == c) {
			if (q->agent && hv_conn_is_open(q->agent))
				file_system_access_agent_cancelled(q->agent, q->id);
			q->peer = NULL;
			answer_error(q, -ECONNRESET, "the client left");
		} else if (q->agent == c) {
			answer_error(q, -EACCES, "the prompt agent left: denied");
		}
	}
	for (unsigned i = 0; i < n_agents; i++)
		if (agents[i] == c) {
			memmove(&agents[i], &agents[i + 1], (n_agents - i - 1) * sizeof *agents);
			n_agents--;
			break;
		}
}

const file_system_access_server_handlers fsa_handlers = {
	.request_file = on_request_file,
	.prompt_open_file = on_prompt_open_file,
	.prompt_save_file = on_prompt_save_file,
	.register_agent = on_register_agent,
	.answer = on_answer,
	.answer_pick = on_answer_pick,
	.list_grants = on_list_grants,
	.revoke = on_revoke,
};
