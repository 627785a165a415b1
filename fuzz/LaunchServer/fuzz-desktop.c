/* fuzz-launchserver-desktop — LaunchServer's readers of files anyone may
 * drop into an XDG directory: a desktop entry (keyfile.c, desktop.c and
 * its Exec, exec.c, expanded for two targets) and the same bytes as a
 * mimeapps.list (mimeapps.c), and setting a default into them. Invariants:
 * a refusal is -EINVAL with "FILE:LINE: ..." in the error; an accepted
 * application has a Name and an Exec whose every argv is non-empty. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "desktop.h"
#include "mimeapps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_argvs(const struct lch_app *a)
{
	static const struct lch_target t[] = {{"/tmp/a b\"c", "file:///tmp/a%20b%22c"},
					      {NULL, "https://example.org/?q=$(id)"}};
	struct lch_exec_ctx ctx = {a->name, a->icon, a->file};
	for (size_t n = 0; n <= 2; n++) {
		hv_strv *v = NULL;
		size_t count = 0;
		int r = lch_exec_expand(&a->exec, &ctx, t, n, &v, &count);
		if (r == -ECANCELED || r == -ENOMEM)
			continue;
		if (r < 0 || !count)
			abort();
		for (size_t i = 0; i < count; i++)
			if (!v[i].n || !v[i].v[0][0])
				abort();
		lch_exec_free_argvs(v, count);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char err[512];
	struct lch_app *a = NULL;
	int r = lch_desktop_parse((const char *)data, size, "f.desktop", "de_DE.UTF-8@euro", &a,
				  err, sizeof(err));
	if (r < 0 && (r != -EINVAL || strncmp(err, "f.desktop:", 10)))
		abort();
	if (a && !a->hidden && (!a->name || !a->exec_line || !a->exec.n))
		abort();
	if (a && !a->hidden)
		check_argvs(a);
	lch_app_free(a);
	struct lch_mimeapps m;
	r = lch_mimeapps_parse((const char *)data, size, "m.list", &m, err, sizeof(err));
	if (r < 0 && (r != -EINVAL || strncmp(err, "m.list:", 7)))
		abort();
	if (r == 0) {
		lch_mimeapps_clear(&m);
		/* Setting a default keeps the file parseable when it was. */
		char *text = malloc(size + 1);
		char *out = NULL;
		if (text) {
			memcpy(text, data, size);
			text[size] = '\0';
			if (strlen(text) == size &&
			    lch_mimeapps_with_default(text, "text/plain", "a.desktop", &out) == 0) {
				if (lch_mimeapps_parse(out, strlen(out), "m.list", &m, err,
						       sizeof(err)) == 0) {
					const hv_strv *v = lch_mimeapps_find(
						m.defaults, m.ndefaults, "text/plain");
					if (!v || !v->n || strcmp(v->v[0], "a.desktop"))
						abort();
					lch_mimeapps_clear(&m);
				}
				free(out);
			}
			free(text);
		}
	}
	return 0;
}
