/* notify — NotificationServer from the shell: send (and wait for the
 * answer), list, history, Do Not Disturb, close, watch the screen, and
 * invoke an action as a click would. A thin layer on the generated
 * NotificationServer client.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <haven/ipc.h>
#include <haven/log.h>

#include "cli.h"

#include "NotificationClient.ipc.h"
#include "NotificationServer.ipc.h"
#include "imagedecoder-client.h"

#define PORTAL "notify"
#define MAX_ACTIONS 8

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: notify COMMAND [OPTIONS]\n"
		"  send TITLE TEXT [--urgency low|normal|critical] [--action ID:LABEL]...\n"
		"       [--icon PATH] [--icon-image FILE] [--timeout MS] [--wait]\n"
		"                     show a notification and print its id; --wait then waits\n"
		"                     for an action (\"action ID\") or its end (\"closed REASON\");\n"
		"                     --icon-image sends FILE's pixels (any format ImageDecoder\n"
		"                     reads, decoded in its sandbox, scaled to fit 256x256)\n"
		"  list               active notifications: ID, state, urgency, title, text, actions\n"
		"  history [--max N]  closed ones, newest first: ID, reason, urgency, time, title, text\n"
		"  dnd [on|off]       set Do Not Disturb, or print it\n"
		"  close ID           close (dismiss) a notification\n"
		"  watch              print what a desktop would show, as it happens\n"
		"  invoke ID ACTION   what a click on ACTION would do (\"default\": the body)\n"
		"  icon ID OUT.pam    write a notification's bitmap icon as a PAM image\n"
		"Exit status: 0 ok, 1 failure, 2 usage. NotificationServer is reached at the\n"
		"portal \"" PORTAL "\" ($HAVEN_PORTAL_DIR, else $XDG_RUNTIME_DIR/haven/portal).\n"
		CLI_TIMEOUT_HELP);
}

static const char *urgency_name(unsigned u)
{
	static const char *const names[] = {"low", "normal", "critical"};
	return u < 3 ? names[u] : "?";
}

static const char *reason_name(unsigned r)
{
	static const char *const names[] = {"?", "expired", "dismissed", "closed", "action"};
	return r < 5 ? names[r] : "?";
}

static const char *state_name(unsigned s)
{
	static const char *const names[] = {"held", "shown", "closed"};
	return s < 3 ? names[s] : "?";
}

/* Tabs and newlines would break the one-line-per-item output. */
static void put_field(const char *s)
{
	for (; *s; s++) {
		if (*s == '\t')
			fputs("\\t", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
}

static void put_actions(const hv_vec_notification_server_action *a)
{
	for (size_t i = 0; i < a->count; i++) {
		if (i)
			putchar(',');
		put_field(a->items[i].id);
		putchar(':');
		put_field(a->items[i].label);
	}
}

/* --- send ------------------------------------------------------------------ */

static uint32_t wait_id;
static int wait_done; /* 0 waiting, 1 done */

static int on_action(hv_call *call, const notification_client_action_invoked_req *req)
{
	if (req->id == wait_id) {
		printf("action %s\n", req->action);
		fflush(stdout);
	}
	return 0;
}

static int on_closed(hv_call *call, const notification_client_closed_req *req)
{
	if (req->id == wait_id) {
		/* An action is followed by its close: the action line said it all. */
		if (req->reason != 4)
			printf("closed %s\n", reason_name(req->reason));
		fflush(stdout);
		wait_done = 1;
	}
	return 0;
}

static const notification_client_handlers wait_handlers = {
	.action_invoked = on_action,
	.closed = on_closed,
};

/* --- icons ------------------------------------------------------------------ */

#define ICON_FIT 256u
#define ICON_MAX_FILE (64u << 20)

/* FILE decoded by an ImageDecoder — the "image" portal's, else one spawned
 * for this call: a sandboxed process either way, never this one — scaled
 * to fit ICON_FIT; its first frame becomes *icon (release it). */
static int load_icon_image(const char *path, hv_opt_bitmap *icon)
{
	_hv_free_ uint8_t *data = NULL;
	size_t len = 0;
	int r = hv_read_file_at(AT_FDCWD, path, 0, ICON_MAX_FILE, &data, &len);
	if (r < 0) {
		fprintf(stderr, "notify: %s: %s\n", path, r == -EFBIG ? "over 64 MiB" : strerror(-r));
		return 1;
	}
	hv_conn *c = NULL;
	pid_t child = -1;
	if (imgdec_connect(NULL, NULL, &c) < 0 && (r = imgdec_spawn(NULL, NULL, NULL, &c, &child)) < 0) {
		fprintf(stderr, "notify: cannot reach an ImageDecoder: %s\n", strerror(-r));
		return 1;
	}
	cli_adopt(c);
	imgdec_image img;
	r = imgdec_decode(c, data, len, ICON_FIT, ICON_FIT, NULL, &img);
	if (r < 0) {
		fprintf(stderr, "notify: %s: %s\n", path, hv_conn_strerror(c, r));
	} else {
		/* Frames are stacked: the first is the top `height` rows. */
		icon->present = true;
		icon->value = img.frames;
		icon->value.height = img.height;
		img.frames = (hv_bitmap){.buffer = HV_BUFFER_EMPTY}; /* now the icon's */
		imgdec_image_release(&img);
	}
	hv_conn_close(c);
	if (child > 0)
		waitpid(child, NULL, 0); /* it ends with its only client */
	return r < 0 ? 1 : 0;
}

/* A PAM (P7, RGB_ALPHA) of the icon: what any image tool reads. */
static int write_pam(const char *path, const hv_bitmap *b)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	fprintf(f, "P7\nWIDTH %u\nHEIGHT %u\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n",
		b->width, b->height);
	const uint8_t *px = b->buffer.data;
	for (uint32_t y = 0; y < b->height; y++)
		for (uint32_t x = 0; x < b->width; x++) {
			const uint8_t *p = px + (size_t)y * b->stride + (size_t)x * 4;
			bool rgba = b->format == HV_PIXEL_RGBA8888;
			uint8_t out[4] = {rgba ? p[0] : p[2], p[1], rgba ? p[2] : p[0],
					  b->format == HV_PIXEL_BGRX8888 ? 255 : p[3]};
			fwrite(out, 1, 4, f);
		}
	int r = ferror(f) ? -EIO : 0;
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	return r;
}

static int cmd_icon(int argc, char **argv, void *userdata)
{
	const char *id_arg = argv[1], *out = argv[2];
	int64_t id;
	if (hv_parse_i64(id_arg, 1, UINT32_MAX, &id) < 0)
		return cli_usage_error("bad notification id \"%s\"", id_arg);
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	hv_opt_bitmap icon = {0};
	int r = notification_server_get_icon(c, (uint32_t)id, &icon);
	if (r < 0) {
		r = cli_fail(c, r, "cannot get the icon");
	} else if (!icon.present) {
		fprintf(stderr, "notify: notification %u has no bitmap icon\n", (uint32_t)id);
		r = 1;
	} else if ((r = write_pam(out, &icon.value)) < 0) {
		fprintf(stderr, "notify: %s: %s\n", out, strerror(-r));
		r = 1;
	}
	if (icon.present)
		hv_bitmap_release(&icon.value);
	hv_conn_close(c);
	return r;
}

static void release_icon(hv_opt_bitmap *b)
{
	if (b->present)
		hv_bitmap_release(&b->value);
}

static int cmd_send(int argc, char **argv, void *userdata)
{
	const char *title = argv[1], *text = argv[2], *icon = "", *icon_image = NULL;
	notification_server_action actions[MAX_ACTIONS];
	size_t nactions = 0;
	int64_t timeout = -1;
	int urgency = 1;
	bool wait = false;
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--urgency") && i + 1 < argc) {
			i++;
			for (urgency = 0; urgency < 3 && strcmp(argv[i], urgency_name(urgency)); urgency++)
				;
			if (urgency == 3)
				return cli_usage_error("bad --urgency \"%s\" (low, normal or critical)",
						   argv[i]);
		} else if (!strcmp(argv[i], "--action") && i + 1 < argc) {
			char *colon = strchr(argv[++i], ':');
			if (!colon || colon == argv[i] || !colon[1])
				return cli_usage_error("bad --action \"%s\" (want ID:LABEL)", argv[i]);
			if (nactions == MAX_ACTIONS)
				return cli_usage_error("%s", "at most 8 actions");
			*colon = 0;
			actions[nactions++] = (notification_server_action){argv[i], colon + 1};
		} else if (!strcmp(argv[i], "--icon") && i + 1 < argc) {
			icon = argv[++i];
		} else if (!strcmp(argv[i], "--icon-image") && i + 1 < argc) {
			icon_image = argv[++i];
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			if (hv_parse_i64(argv[++i], -1, 24 * 3600 * 1000, &timeout) < 0)
				return cli_usage_error("bad --timeout \"%s\" (ms; -1 default, 0 never)",
						   argv[i]);
		} else if (!strcmp(argv[i], "--wait")) {
			wait = true;
		} else
			return cli_usage_error("send: unexpected argument \"%s\"", argv[i]);
	}
	_hv_cleanup_(release_icon) hv_opt_bitmap bitmap = {0};
	if (icon_image && load_icon_image(icon_image, &bitmap))
		return 1;
	_hv_cleanup_(hv_conn_closep) hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r;
	if (wait && (r = hv_conn_serve(c, &notification_client_endpoint, &wait_handlers)) < 0)
		return cli_fail(c, r, "cannot wait");
	hv_vec_notification_server_action va = {actions, nactions};
	uint32_t id = 0;
	r = notification_server_show(c, title, text, bitmap, icon,
				     (notification_server_urgency)urgency, va, (int32_t)timeout,
				     &id);
	if (r < 0)
		return cli_fail(c, r, "cannot send");
	printf("%u\n", id);
	fflush(stdout);
	if (!wait)
		return 0;
	wait_id = id;
	while (!wait_done)
		if ((r = hv_conn_dispatch(c, -1)) < 0)
			return cli_fail(NULL, r, "NotificationServer went away while waiting");
	return 0;
}

/* --- list, history ----------------------------------------------------------- */

static void print_time(int64_t ms)
{
	char when[64];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	fputs(when, stdout);
}

static int cmd_list(bool history, uint32_t max)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	hv_vec_notification_server_info v;
	int r = history ? notification_server_history(c, max, &v) : notification_server_list(c, &v);
	if (r < 0) {
		r = cli_fail(c, r, history ? "cannot read the history" : "cannot list");
		hv_conn_close(c);
		return r;
	}
	for (size_t i = 0; i < v.count; i++) {
		const notification_server_info *n = &v.items[i];
		printf("%u\t%s\t%s\t", n->id,
		       history ? reason_name(n->reason) : state_name(n->state),
		       urgency_name(n->urgency));
		if (history) {
			print_time(n->closed_ms);
			putchar('\t');
		}
		put_field(n->title);
		putchar('\t');
		put_field(n->text);
		if (!history) {
			putchar('\t');
			put_actions(&n->actions);
		}
		putchar('\n');
	}
	hv_conn_close(c);
	return 0;
}

/* --- dnd, close, invoke ------------------------------------------------------ */

static int cmd_dnd(int argc, char **argv, void *userdata)
{
	if (argc == 2 && strcmp(argv[1], "on") && strcmp(argv[1], "off"))
		return cli_usage_error("%s", "dnd takes on, off, or nothing");
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r;
	if (argc == 2) {
		r = notification_server_set_dnd(c, !strcmp(argv[1], "on"));
		if (r < 0)
			r = cli_fail(c, r, "cannot set Do Not Disturb");
	} else {
		bool on = false;
		r = notification_server_get_dnd(c, &on);
		if (r < 0)
			r = cli_fail(c, r, "cannot read Do Not Disturb");
		else
			printf("%s\n", on ? "on" : "off");
	}
	hv_conn_close(c);
	return r;
}

static int parse_id(const char *s, uint32_t *id)
{
	int64_t v;
	if (hv_parse_i64(s, 1, UINT32_MAX, &v) < 0)
		return cli_usage_error("bad ID \"%s\"", s);
	*id = (uint32_t)v;
	return 0;
}

static int cmd_close(int argc, char **argv, void *userdata)
{
	const char *arg = argv[1];
	uint32_t id = 0;
	if (parse_id(arg, &id))
		return 2;
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r = notification_server_close(c, id);
	if (r < 0)
		r = cli_fail(c, r, "cannot close");
	hv_conn_close(c);
	return r;
}

static int cmd_invoke(int argc, char **argv, void *userdata)
{
	const char *arg = argv[1], *action = argv[2];
	uint32_t id = 0;
	if (parse_id(arg, &id))
		return 2;
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r = notification_server_invoke_action(c, id, action);
	if (r < 0)
		r = cli_fail(c, r, "cannot invoke");
	hv_conn_close(c);
	return r;
}

/* --- watch ------------------------------------------------------------------ */

static void print_shown(const char *what, const notification_server_info *n)
{
	printf("%s %u [%s] ", what, n->id, urgency_name(n->urgency));
	put_field(n->title);
	fputs(": ", stdout);
	put_field(n->text);
	if (n->actions.count) {
		fputs(" (", stdout);
		put_actions(&n->actions);
		putchar(')');
	}
	putchar('\n');
	fflush(stdout);
}

static int on_shown(hv_call *call, const notification_client_shown_req *req)
{
	print_shown("shown", &req->notification);
	return 0;
}

static int on_updated(hv_call *call, const notification_client_updated_req *req)
{
	print_shown("updated", &req->notification);
	return 0;
}

static int on_hidden(hv_call *call, const notification_client_hidden_req *req)
{
	printf("hidden %u %s\n", req->id, reason_name(req->reason));
	fflush(stdout);
	return 0;
}

static int on_dnd(hv_call *call, const notification_client_dnd_changed_req *req)
{
	printf("dnd %s\n", req->on ? "on" : "off");
	fflush(stdout);
	return 0;
}

static const notification_client_handlers watch_handlers = {
	.shown = on_shown,
	.updated = on_updated,
	.hidden = on_hidden,
	.dnd_changed = on_dnd,
};

static int cmd_watch(int argc, char **argv, void *userdata)
{
	hv_conn *c = NULL;
	if (cli_connect(NULL, PORTAL, NULL, &c) < 0)
		return 1;
	int r = hv_conn_serve(c, &notification_client_endpoint, &watch_handlers);
	if (r < 0 || (r = notification_server_watch(c, true)) < 0) {
		r = cli_fail(c, r, "cannot watch");
		hv_conn_close(c);
		return r;
	}
	/* What is on screen already, then the changes. */
	hv_vec_notification_server_info v;
	if ((r = notification_server_list(c, &v)) == 0)
		for (size_t i = 0; i < v.count; i++)
			if (v.items[i].state == 1)
				print_shown("shown", &v.items[i]);
	fprintf(stderr, "notify: watching\n");
	while ((r = hv_conn_dispatch(c, -1)) >= 0)
		;
	fprintf(stderr, "notify: NotificationServer went away: %s\n", strerror(-r));
	hv_conn_close(c);
	return 1;
}

static int cmd_active(int argc, char **argv, void *userdata) { return cmd_list(false, 0); }

static int cmd_history(int argc, char **argv, void *userdata)
{
	int64_t max = 0;
	if (argc == 3 && !strcmp(argv[1], "--max")) {
		if (hv_parse_i64(argv[2], 1, UINT32_MAX, &max) < 0)
			return cli_usage_error("bad --max \"%s\"", argv[2]);
	} else if (argc != 1)
		return cli_usage_error("%s", "history takes only --max N");
	return cmd_list(true, (uint32_t)max);
}

static const hv_verb verbs[] = {
	{"send", 2, HV_VERB_ANY, cmd_send}, /* TITLE TEXT [options] */
	{"list", 0, 0, cmd_active},
	{"history", 0, 2, cmd_history},
	{"dnd", 0, 1, cmd_dnd},
	{"close", 1, 1, cmd_close},
	{"watch", 0, 0, cmd_watch},
	{"invoke", 2, 2, cmd_invoke},
	{"icon", 2, 2, cmd_icon},
	{0},
};

int main(int argc, char **argv)
{
	cli_init("notify", "NotificationServer", usage);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
		    (i == 1 && !strcmp(argv[i], "help"))) {
			usage(stdout);
			return 0;
		}
	return cli_dispatch(argc - 1, argv + 1, verbs, NULL);
}
