/* client.c — LaunchServer's client library (launch-client.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <haven/util.h>

#include "launch-client.h"

int launch_client_connect(const char *socket_path, hv_conn **out)
{
	return socket_path ? hv_conn_connect(NULL, socket_path, out)
			   : hv_conn_connect_portal(NULL, LAUNCH_CLIENT_PORTAL, out);
}

bool launch_client_is_url(const char *arg)
{
	size_t n = 0;
	while ((arg[n] >= 'a' && arg[n] <= 'z') || (arg[n] >= 'A' && arg[n] <= 'Z') ||
	       (n && ((arg[n] >= '0' && arg[n] <= '9') || arg[n] == '+' || arg[n] == '-' ||
		      arg[n] == '.')))
		n++;
	/* "c:" would be a drive letter elsewhere; here two letters at least. */
	return n >= 2 && arg[n] == ':';
}

int launch_client_absolute(const char *arg, char **out)
{
	if (arg[0] == '/')
		return (*out = strdup(arg)) ? 0 : -ENOMEM;
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (strlen(cwd) + 1 + strlen(arg) + 1 > PATH_MAX)
		return -ENAMETOOLONG;
	return asprintf(out, "%s/%s", strcmp(cwd, "/") ? cwd : "", arg) < 0 ? -ENOMEM : 0;
}

/* The file's content for the service: read-only, never blocking on a FIFO;
 * absent (not an error) when it cannot be opened: the service says why. */
static hv_opt_file content_of(const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	return (hv_opt_file){.present = fd >= 0, .value = fd};
}

int launch_client_open(hv_conn *c, const char *arg, const char *handler, int32_t *pid,
		       const char **handler_used)
{
	int32_t p;
	const char *u;
	if (launch_client_is_url(arg))
		return launch_server_open_url(c, arg, handler, pid ? pid : &p,
					      handler_used ? handler_used : &u);
	_hv_free_ char *abs = NULL;
	int r = launch_client_absolute(arg, &abs);
	if (r < 0)
		return r;
	hv_opt_file f = content_of(abs);
	r = launch_server_open_file(c, abs, f, handler, pid ? pid : &p,
				    handler_used ? handler_used : &u);
	if (f.present)
		close(f.value);
	return r;
}

int launch_client_classify(hv_conn *c, const char *arg, launch_server_classification *out)
{
	if (launch_client_is_url(arg))
		return launch_server_classify_url(c, arg, out);
	_hv_free_ char *abs = NULL;
	int r = launch_client_absolute(arg, &abs);
	if (r < 0)
		return r;
	hv_opt_file f = content_of(abs);
	r = launch_server_classify_file(c, abs, f, out);
	if (f.present)
		close(f.value);
	return r;
}

int launch_client_handlers(hv_conn *c, const char *arg, launch_server_classification *type,
			   hv_vec_launch_server_handler *handlers)
{
	if (launch_client_is_url(arg)) {
		int r = launch_server_classify_url(c, arg, type);
		if (r < 0)
			return r;
		/* type's strings live until the next call: keep copies the
		 * caller can read after the second one. Simpler: ask in one
		 * call for files; for URLs the type is the scheme's. */
		static char mime[300], by[32], url[8200];
		snprintf(mime, sizeof(mime), "%s", type->mime_type);
		snprintf(by, sizeof(by), "%s", type->by);
		snprintf(url, sizeof(url), "%s", type->url);
		*type = (launch_server_classification){mime, by, url};
		return launch_server_get_handlers_with_details_for_url(c, arg, handlers);
	}
	_hv_free_ char *abs = NULL;
	int r = launch_client_absolute(arg, &abs);
	if (r < 0)
		return r;
	hv_opt_file f = content_of(abs);
	r = launch_server_get_handlers_for_file(c, abs, f, type, handlers);
	if (f.present)
		close(f.value);
	return r;
}
