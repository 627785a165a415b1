/* fuzz-launchserver-exec — the Exec field-code expander (exec.c) alone,
 * and URLs (url.c): input is "EXEC\nTARGET\nTARGET..." where a target is a
 * path or URL. Invariants: a parsed Exec gives argvs with a non-empty
 * command, or refuses a remote URL for a files-only Exec (-ECANCELED);
 * URL parsing never accepts a control character. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 14)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct lch_target t[8];
	char *parts[9];
	size_t n = 0;
	for (char *p = text, *nl; p && n < 9; p = nl) {
		if ((nl = strchr(p, '\n')))
			*nl++ = '\0';
		parts[n++] = p;
	}
	size_t nt = 0;
	struct lch_url urls[8];
	for (size_t i = 1; i < n; i++) {
		const char *why;
		urls[nt] = (struct lch_url){0};
		bool ok = lch_url_parse(parts[i], &urls[nt], &why) == 0;
		if (ok)
			for (const char *c = parts[i]; *c; c++)
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					abort();
		t[nt].url = parts[i];
		t[nt].path = ok ? urls[nt].path : (parts[i][0] == '/' ? parts[i] : NULL);
		nt++;
	}
	struct lch_exec ex;
	char err[200];
	if (lch_exec_parse(parts[0], &ex, err, sizeof(err)) == 0) {
		struct lch_exec_ctx ctx = {"Name", "icon", "/x.desktop"};
		hv_strv *v = NULL;
		size_t count = 0;
		int r = lch_exec_expand(&ex, &ctx, t, nt, &v, &count);
		if (r == 0) {
			for (size_t i = 0; i < count; i++)
				if (!v[i].n || !v[i].v[0][0])
					abort();
			lch_exec_free_argvs(v, count);
		} else if (r != -ECANCELED && r != -ENOMEM)
			abort();
		lch_exec_clear(&ex);
	}
	for (size_t i = 0; i < nt; i++)
		lch_url_clear(&urls[i]);
	free(text);
	return 0;
}
