/* describe.c — an endpoint's contract as JSON, embedded by gen.c in the
 * generated hv_endpoint (answered by every server to the built-in
 * introspection request) and printed by `ipcc --describe`.
 *
 *   {"endpoint": NAME, "magic": N, "doc": TEXT,
 *    "messages": [{"id": N, "name": NAME, "kind": "request"|"oneway",
 *                  "doc": TEXT, "params": [FIELD...], "results": [FIELD...]}],
 *    "errors": [{"name": NAME, "code": -N, "message": TEXT}],
 *    "types": {NAME: {"struct": [FIELD...]} | {"enum"|"flags": INT,
 *                     "values": {NAME: N, ...}}}}
 *   FIELD = {"name": NAME, "type": TYPE [, "utf8": true] [, "max_length": N]}
 *   TYPE  = a scalar's name ("u32", "String", "ByteString", "bytes", "File",
 *           "Buffer", "Bitmap", "bool", "Empty", ...) | a key of "types" |
 *           {"Vector": TYPE} | {"Optional": TYPE} | {"HashMap": [TYPE, TYPE]} |
 *           {"Variant": [TYPE, ...]}
 * Aliases are resolved (the wire knows no aliases); "results" is absent
 * for a one-way message. The output depends only on the input. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ipcc.h"

typedef struct desc {
	ipcc_arena *a;
	FILE *out;
	const ipcc_def **defs; /* named types reached, in first-use order */
	size_t ndefs, capdefs;
} desc;

static void put_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static const char *scalar_name(enum ipcc_kind k)
{
	static const char *const names[] = {
		[K_BOOL] = "bool",	   [K_I8] = "i8",	  [K_I16] = "i16",   [K_I32] = "i32",
		[K_I64] = "i64",	   [K_U8] = "u8",	  [K_U16] = "u16",   [K_U32] = "u32",
		[K_U64] = "u64",	   [K_F32] = "f32",	  [K_F64] = "f64",   [K_STRING] = "String",
		[K_BYTESTRING] = "ByteString", [K_BYTES] = "bytes", [K_FILE] = "File",
		[K_BUFFER] = "Buffer",	   [K_BITMAP] = "Bitmap", [K_EMPTY] = "Empty",
	};
	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : NULL;
}

static void note_def(desc *d, const ipcc_def *def)
{
	for (size_t i = 0; i < d->ndefs; i++)
		if (d->defs[i] == def)
			return;
	ipcc_push(d->a, &d->defs, &d->ndefs, &d->capdefs, &def, sizeof(def));
}

static void put_type(desc *d, const ipcc_type *t)
{
	switch (t->kind) {
	case K_VECTOR:
	case K_OPTIONAL:
		fprintf(d->out, "{\"%s\":", t->kind == K_VECTOR ? "Vector" : "Optional");
		put_type(d, t->elem);
		fputc('}', d->out);
		return;
	case K_MAP:
		fputs("{\"HashMap\":[", d->out);
		put_type(d, t->elem);
		fputc(',', d->out);
		put_type(d, t->value);
		fputs("]}", d->out);
		return;
	case K_VARIANT:
		fputs("{\"Variant\":[", d->out);
		for (size_t i = 0; i < t->nalts; i++) {
			if (i)
				fputc(',', d->out);
			put_type(d, t->alts[i]);
		}
		fputs("]}", d->out);
		return;
	case K_STRUCT:
	case K_ENUM:
	case K_FLAGS:
		note_def(d, t->def);
		put_string(d->out, t->def->name);
		return;
	default: {
		const char *s = scalar_name(t->kind);
		put_string(d->out, s ? s : "?");
		return;
	}
	}
}

static void put_fields(desc *d, const ipcc_field *fs, size_t n)
{
	fputc('[', d->out);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", d->out);
		put_string(d->out, fs[i].name);
		fputs(",\"type\":", d->out);
		put_type(d, fs[i].type);
		if (fs[i].attrs & ATTR_UTF8)
			fputs(",\"utf8\":true", d->out);
		if (fs[i].attrs & ATTR_MAX_LENGTH)
			fprintf(d->out, ",\"max_length\":%" PRIu64, fs[i].max_length);
		fputc('}', d->out);
	}
	fputc(']', d->out);
}

static void put_messages(desc *d, const ipcc_endpoint *ep)
{
	fputs(",\"messages\":[", d->out);
	for (size_t i = 0; i < ep->nmessages; i++) {
		const ipcc_message *m = &ep->messages[i];
		fprintf(d->out, "%s{\"id\":%u,\"name\":", i ? "," : "", m->id);
		put_string(d->out, m->name);
		fprintf(d->out, ",\"kind\":\"%s\",\"doc\":", m->oneway ? "oneway" : "request");
		put_string(d->out, m->doc ? m->doc : "");
		fputs(",\"params\":", d->out);
		put_fields(d, m->params, m->nparams);
		if (!m->oneway) {
			fputs(",\"results\":", d->out);
			put_fields(d, m->results, m->nresults);
		}
		fputc('}', d->out);
	}
	fputc(']', d->out);
}

/* Every named type reached, including those reached from other types
 * (the list grows while it is walked). */
static void put_types(desc *d)
{
	fputs(",\"types\":{", d->out);
	for (size_t i = 0; i < d->ndefs; i++) {
		const ipcc_def *def = d->defs[i];
		if (i)
			fputc(',', d->out);
		put_string(d->out, def->name);
		if (def->kind == DEF_STRUCT) {
			fputs(":{\"struct\":", d->out);
			put_fields(d, def->fields, def->nfields);
			fputc('}', d->out);
			continue;
		}
		fprintf(d->out, ":{\"%s\":", def->kind == DEF_FLAGS ? "flags" : "enum");
		ipcc_type u = {.kind = def->underlying ? def->underlying->kind : K_U32};
		put_type(d, &u);
		fputs(",\"values\":{", d->out);
		for (size_t k = 0; k < def->nenumerators; k++) {
			if (k)
				fputc(',', d->out);
			put_string(d->out, def->enumerators[k].name);
			fprintf(d->out, ":%" PRId64, def->enumerators[k].value);
		}
		fputs("}}", d->out);
	}
	fputc('}', d->out);
}

char *ipcc_describe(ipcc_arena *a, const ipcc_endpoint *ep)
{
	char *buf = NULL;
	size_t len = 0;
	desc d = {.a = a, .out = open_memstream(&buf, &len)};
	if (!d.out)
		abort();
	fputs("{\"endpoint\":", d.out);
	put_string(d.out, ep->name);
	fprintf(d.out, ",\"magic\":%" PRIu32 ",\"doc\":", ep->magic);
	put_string(d.out, ep->doc ? ep->doc : "");
	put_messages(&d, ep);
	fputs(",\"errors\":[", d.out);
	for (size_t i = 0; i < ep->nerrors; i++) {
		fputs(i ? ",{\"name\":" : "{\"name\":", d.out);
		put_string(d.out, ep->errors[i].name);
		fprintf(d.out, ",\"code\":%d,\"message\":", -(int)(IPCC_ERROR_BASE + ep->errors[i].number));
		put_string(d.out, ep->errors[i].message);
		fputc('}', d.out);
	}
	fputc(']', d.out);
	put_types(&d);
	fputc('}', d.out);
	if (fclose(d.out) != 0)
		abort();
	char *s = ipcc_strndup(a, buf, len);
	free(buf);
	return s;
}
