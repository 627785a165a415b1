/* gen.c — writes the C for one checked .ipc file: a header (types, message
 * structs, handler table, client prototypes) and a source (encoders,
 * decoders, dispatch, client stubs) against lib/ipc's haven/ipc.h.
 *
 * Shape of the output, per composite type T (struct, enum, Vector,
 * Optional, HashMap) used by the file:
 *   header: one typedef, behind an include guard named after its C name, so
 *           any number of generated headers can be included together;
 *   source: static enc_T / dec_T (and rel_T when T holds fds or buffers).
 * Every message is treated as two anonymous structs (its request and its
 * reply) so the same helpers encode, decode and release them. The output
 * depends only on the input: same .ipc, same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "ipcc.h"

typedef struct gen {
	ipcc_unit *u;
	ipcc_arena *a;
	ipcc_file *f;
	FILE *h, *c;
	const ipcc_type **types; /* composites, by-value dependencies first */
	size_t ntypes, captypes;
	const char **seen; /* mangles of types collected or being collected */
	size_t nseen, capseen;
	const ipcc_type **later; /* reached through a pointer: collected after */
	size_t nlater, caplater;
} gen;

/* --- collecting the composite types, dependencies first -------------------- */
static bool is_composite(const ipcc_type *t)
{
	return t->kind == K_VECTOR || t->kind == K_OPTIONAL || t->kind == K_MAP || t->kind == K_STRUCT ||
	       t->kind == K_ENUM || t->kind == K_FLAGS || t->kind == K_VARIANT;
}

/* A C struct (forward-declared at the top of the header), not an integer. */
static bool is_c_struct(const ipcc_type *t)
{
	return is_composite(t) && t->kind != K_ENUM && t->kind != K_FLAGS;
}

static bool seen(gen *g, const char *mangle)
{
	for (size_t i = 0; i < g->nseen; i++)
		if (!strcmp(g->seen[i], mangle))
			return true;
	return false;
}

static void collect(gen *g, const ipcc_type *t);

/* An element held by pointer (Vector, HashMap, a recursive Optional) needs
 * only its forward declaration, so it is collected later: that is what
 * lets a struct hold a Vector of itself. Enums are integers: now. */
static void collect_pointee(gen *g, const ipcc_type *t)
{
	if (t->kind == K_ENUM || t->kind == K_FLAGS)
		collect(g, t);
	else if (is_composite(t))
		ipcc_push(g->a, &g->later, &g->nlater, &g->caplater, &t, sizeof(t));
}

static void collect(gen *g, const ipcc_type *t)
{
	if (!is_composite(t))
		return;
	const char *mangle = ipcc_mangle(g->a, t);
	if (seen(g, mangle))
		return;
	ipcc_push(g->a, &g->seen, &g->nseen, &g->capseen, &mangle, sizeof(mangle));
	switch (t->kind) {
	case K_VECTOR: collect_pointee(g, t->elem); break;
	case K_OPTIONAL:
		if (ipcc_opt_boxed(t))
			collect_pointee(g, t->elem);
		else
			collect(g, t->elem);
		break;
	case K_MAP: collect_pointee(g, t->elem); collect_pointee(g, t->value); break;
	case K_VARIANT:
		for (size_t i = 0; i < t->nalts; i++)
			collect(g, t->alts[i]);
		break;
	case K_STRUCT:
		for (size_t i = 0; i < t->def->nfields; i++)
			collect(g, t->def->fields[i].type);
		break;
	default: break;
	}
	ipcc_push(g->a, &g->types, &g->ntypes, &g->captypes, &t, sizeof(t));
}

static void collect_all(gen *g, const ipcc_type *t)
{
	collect(g, t);
	for (size_t i = 0; i < g->nlater; i++) /* grows while it runs */
		collect(g, g->later[i]);
	g->nlater = 0;
}

static const ipcc_type *def_type(gen *g, ipcc_def *d)
{
	ipcc_type *t = ipcc_alloc(g->a, sizeof(*t));
	t->kind = d->kind == DEF_STRUCT ? K_STRUCT : d->kind == DEF_ENUM ? K_ENUM : K_FLAGS;
	t->def = d;
	t->name = d->name;
	return t;
}

/* --- small printing helpers ---------------------------------------------------- */
/* "const char *" + "x" → "const char *x"; "int32_t" + "x" → "int32_t x". */
static const char *decl(gen *g, const ipcc_type *t, const char *name)
{
	const char *ct = ipcc_ctype(g->a, t);
	size_t n = strlen(ct);
	return ipcc_printf(g->a, "%s%s%s", ct, ct[n - 1] == '*' ? "" : " ", name);
}

static const char *out_decl(gen *g, const ipcc_type *t, const char *name)
{
	const char *ct = ipcc_ctype(g->a, t);
	size_t n = strlen(ct);
	return ipcc_printf(g->a, "%s%s*%s_out", ct, ct[n - 1] == '*' ? "" : " ", name);
}

static const char *field_sig(gen *g, const ipcc_field *f)
{
	return ipcc_printf(g->a, "%s%s %s", (f->attrs & ATTR_UTF8) ? "[UTF8] " : "", ipcc_type_text(g->a, f->type),
			   f->name);
}

static const char *message_sig(gen *g, const ipcc_message *m)
{
	char *s = ipcc_printf(g->a, "%s(", m->name);
	for (size_t i = 0; i < m->nparams; i++)
		s = ipcc_printf(g->a, "%s%s%s", s, i ? ", " : "", field_sig(g, &m->params[i]));
	if (m->oneway)
		return ipcc_printf(g->a, "%s) =|", s);
	s = ipcc_printf(g->a, "%s) => (", s);
	for (size_t i = 0; i < m->nresults; i++)
		s = ipcc_printf(g->a, "%s%s%s", s, i ? ", " : "", field_sig(g, &m->results[i]));
	return ipcc_printf(g->a, "%s)", s);
}

/* A comment: the title line, then the .ipc author's documentation (if any),
 * with any comment terminator in it defused. */
static void comment(FILE *o, const char *title, const char *doc)
{
	fprintf(o, "/* %s", title);
	if (!doc || !*doc) {
		fprintf(o, " */\n");
		return;
	}
	fprintf(o, "\n");
	const char *c = doc;
	while (*c) {
		const char *nl = strchr(c, '\n');
		size_t n = nl ? (size_t)(nl - c) : strlen(c);
		fputs(n ? " * " : " *", o);
		for (size_t i = 0; i < n; i++) {
			fputc(c[i], o);
			if (c[i] == '*' && i + 1 < n && c[i + 1] == '/')
				fputc(' ', o);
		}
		fputc('\n', o);
		c += n + (nl ? 1 : 0);
	}
	fprintf(o, " */\n");
}

/* --- header: type definitions ------------------------------------------------- */
static void emit_struct_body(gen *g, const ipcc_field *fs, size_t n)
{
	if (!n)
		fprintf(g->h, "\tchar hv_empty; /* no fields */\n");
	for (size_t i = 0; i < n; i++)
		fprintf(g->h, "\t%s;\n", decl(g, fs[i].type, fs[i].name));
}

static void emit_type_def(gen *g, const ipcc_type *t)
{
	const char *cn = ipcc_ctype(g->a, t);
	fprintf(g->h, "#ifndef HV_IPC_TYPE_%s\n#define HV_IPC_TYPE_%s\n", cn, cn);
	switch (t->kind) {
	case K_ENUM: {
		ipcc_def *d = t->def;
		comment(g->h, ipcc_printf(g->a, "enum %s : %s (%s.ipc)", d->name, d->underlying->name, d->file->base),
			d->doc);
		fprintf(g->h, "typedef enum %s {\n", cn);
		for (size_t i = 0; i < d->nenumerators; i++)
			fprintf(g->h, "\t%s_%s = %lld,\n", d->upper,
				ipcc_upper(g->a, ipcc_snake(g->a, d->enumerators[i].name)),
				(long long)d->enumerators[i].value);
		fprintf(g->h, "} %s;\n", cn);
		break;
	}
	case K_STRUCT: {
		ipcc_def *d = t->def;
		if (d->builtin)
			fprintf(g->h, "/* %s (built-in) */\n", d->name);
		else
			comment(g->h, ipcc_printf(g->a, "struct %s (%s.ipc)", d->name, d->file->base), d->doc);
		fprintf(g->h, "typedef struct %s {\n", cn);
		emit_struct_body(g, d->fields, d->nfields);
		fprintf(g->h, "} %s;\n", cn);
		break;
	}
	case K_VECTOR:
		fprintf(g->h, "/* %s */\ntypedef struct %s {\n\t%s;\n\tsize_t count;\n} %s;\n", ipcc_type_text(g->a, t), cn,
			decl(g, t->elem, "*items"), cn);
		break;
	case K_OPTIONAL:
		if (ipcc_opt_boxed(t))
			fprintf(g->h, "/* %s: value points to one %s when present (the type is recursive) */\n"
				      "typedef struct %s {\n\tbool present;\n\t%s;\n} %s;\n",
				ipcc_type_text(g->a, t), ipcc_ctype(g->a, t->elem), cn, decl(g, t->elem, "*value"), cn);
		else
			fprintf(g->h, "/* %s */\ntypedef struct %s {\n\tbool present;\n\t%s;\n} %s;\n",
				ipcc_type_text(g->a, t), cn, decl(g, t->elem, "value"), cn);
		break;
	case K_MAP:
		fprintf(g->h, "/* %s: entries (%s_entry, below) in wire order */\n", ipcc_type_text(g->a, t), cn);
		fprintf(g->h, "typedef struct %s {\n\t%s_entry *items;\n\tsize_t count;\n} %s;\n", cn, cn, cn);
		break;
	case K_FLAGS: {
		ipcc_def *d = t->def;
		comment(g->h, ipcc_printf(g->a, "flags %s : %s (%s.ipc): values combine with |", d->name,
					  d->underlying->name, d->file->base),
			d->doc);
		fprintf(g->h, "typedef %s %s;\n", ipcc_ctype(g->a, d->underlying), cn);
		for (size_t i = 0; i < d->nenumerators; i++)
			fprintf(g->h, "#define %s_%s ((%s)0x%llx%s)\n", d->upper,
				ipcc_upper(g->a, ipcc_snake(g->a, d->enumerators[i].name)), cn,
				(unsigned long long)d->enumerators[i].value, d->underlying->kind == K_U64 ? "ull" : "u");
		break;
	}
	case K_VARIANT: {
		const char *U = ipcc_upper(g->a, cn);
		fprintf(g->h, "/* %s: tag is the index of the alternative held */\ntypedef struct %s {\n\tuint32_t tag;\n",
			ipcc_type_text(g->a, t), cn);
		bool any = false;
		for (size_t i = 0; i < t->nalts; i++)
			any = any || t->alts[i]->kind != K_EMPTY;
		if (any) {
			fprintf(g->h, "\tunion {\n");
			for (size_t i = 0; i < t->nalts; i++)
				if (t->alts[i]->kind != K_EMPTY)
					fprintf(g->h, "\t\t%s;\n",
						decl(g, t->alts[i], ipcc_printf(g->a, "as_%s", ipcc_mangle(g->a, t->alts[i]))));
			fprintf(g->h, "\t};\n");
		}
		fprintf(g->h, "} %s;\nenum {\n", cn);
		for (size_t i = 0; i < t->nalts; i++)
			fprintf(g->h, "\t%s_%s = %zu,\n", U, ipcc_upper(g->a, ipcc_mangle(g->a, t->alts[i])), i);
		fprintf(g->h, "};\n");
		break;
	}
	default: break;
	}
	fprintf(g->h, "#endif\n\n");
}

/* Every C struct is declared first, so a type may hold a pointer to one
 * defined later (a Vector of the struct it is in). A typedef may repeat
 * (C11), so several generated headers can declare the same one. */
static void emit_forward_decls(gen *g)
{
	bool any = false;
	for (size_t i = 0; i < g->ntypes; i++) {
		if (!is_c_struct(g->types[i]))
			continue;
		const char *cn = ipcc_ctype(g->a, g->types[i]);
		fprintf(g->h, "typedef struct %s %s;\n", cn, cn);
		if (g->types[i]->kind == K_MAP)
			fprintf(g->h, "typedef struct %s_entry %s_entry;\n", cn, cn);
		any = true;
	}
	if (any)
		fprintf(g->h, "\n");
}

/* A map's entry holds its key and value by value, so it comes after every
 * other type (its value may be the struct the map is in). */
static void emit_map_entry(gen *g, const ipcc_type *t)
{
	const char *cn = ipcc_ctype(g->a, t);
	fprintf(g->h, "#ifndef HV_IPC_TYPE_%s_entry\n#define HV_IPC_TYPE_%s_entry\n", cn, cn);
	fprintf(g->h, "/* an entry of %s */\nstruct %s_entry {\n\t%s;\n\t%s;\n};\n#endif\n\n", ipcc_type_text(g->a, t), cn,
		decl(g, t->elem, "key"), decl(g, t->value, "value"));
}

/* --- source: encode / decode / release statements ------------------------------ */
static const char *int_fn(enum ipcc_kind k)
{
	switch (k) {
	case K_I8: return "i8";
	case K_I16: return "i16";
	case K_I32: return "i32";
	case K_I64: return "i64";
	case K_U8: return "u8";
	case K_U16: return "u16";
	case K_U32: return "u32";
	case K_U64: return "u64";
	default: return "?";
	}
}

/* One statement encoding lvalue X into encoder pointer E. */
static void enc_stmt(gen *g, const char *ind, const ipcc_type *t, const char *E, const char *X)
{
	FILE *o = g->c;
	switch (t->kind) {
	case K_BOOL: fprintf(o, "%shv_enc_bool(%s, %s);\n", ind, E, X); break;
	case K_F32: fprintf(o, "%shv_enc_f32(%s, %s);\n", ind, E, X); break;
	case K_F64: fprintf(o, "%shv_enc_f64(%s, %s);\n", ind, E, X); break;
	case K_STRING: fprintf(o, "%shv_enc_string(%s, %s);\n", ind, E, X); break;
	case K_BYTESTRING: fprintf(o, "%shv_enc_bytestring(%s, %s);\n", ind, E, X); break;
	case K_BYTES: fprintf(o, "%shv_enc_bytes(%s, %s.data, %s.len);\n", ind, E, X, X); break;
	case K_FILE: fprintf(o, "%shv_enc_fd(%s, %s);\n", ind, E, X); break;
	case K_BUFFER: fprintf(o, "%shv_enc_buffer(%s, &%s);\n", ind, E, X); break;
	case K_BITMAP: fprintf(o, "%shv_enc_bitmap(%s, &%s);\n", ind, E, X); break;
	default:
		if (ipcc_is_int_kind(t->kind))
			fprintf(o, "%shv_enc_%s(%s, %s);\n", ind, int_fn(t->kind), E, X);
		else
			fprintf(o, "%senc_%s(%s, &%s);\n", ind, ipcc_mangle(g->a, t), E, X);
	}
}

/* An expression decoding into lvalue X from decoder pointer D (true = ok). */
static const char *dec_expr(gen *g, const ipcc_type *t, const char *D, const char *X)
{
	const char *fn;
	switch (t->kind) {
	case K_BOOL: fn = "hv_dec_bool"; break;
	case K_F32: fn = "hv_dec_f32"; break;
	case K_F64: fn = "hv_dec_f64"; break;
	case K_STRING: fn = "hv_dec_string"; break;
	case K_BYTESTRING: fn = "hv_dec_bytestring"; break;
	case K_BYTES: fn = "hv_dec_bytes"; break;
	case K_FILE: fn = "hv_dec_fd"; break;
	case K_BUFFER: fn = "hv_dec_buffer"; break;
	case K_BITMAP: fn = "hv_dec_bitmap"; break;
	default:
		fn = ipcc_is_int_kind(t->kind) ? ipcc_printf(g->a, "hv_dec_%s", int_fn(t->kind))
					       : ipcc_printf(g->a, "dec_%s", ipcc_mangle(g->a, t));
	}
	return ipcc_printf(g->a, "%s(%s, &%s)", fn, D, X);
}

/* Release what X holds (fds, mappings); only for types with resources. */
static void rel_stmt(gen *g, const char *ind, const ipcc_type *t, const char *X)
{
	switch (t->kind) {
	case K_FILE: fprintf(g->c, "%sif (%s >= 0)\n%s\tclose(%s);\n", ind, X, ind, X); break;
	case K_BUFFER: fprintf(g->c, "%shv_buffer_release(&%s);\n", ind, X); break;
	case K_BITMAP: fprintf(g->c, "%shv_bitmap_release(&%s);\n", ind, X); break;
	default: fprintf(g->c, "%srel_%s(&%s);\n", ind, ipcc_mangle(g->a, t), X); break;
	}
}

static const char *length_expr(gen *g, const ipcc_type *t, const char *X)
{
	switch (t->kind) {
	case K_STRING: case K_BYTESTRING: return ipcc_printf(g->a, "(%s ? strlen(%s) : 0)", X, X);
	case K_BYTES: return ipcc_printf(g->a, "%s.len", X);
	default: return ipcc_printf(g->a, "%s.count", X);
	}
}

/* enc_/dec_/rel_ for a list of fields held in a struct of C type T. */
static void emit_fields_helpers(gen *g, const char *T, const char *M, const ipcc_field *fs, size_t n, bool message)
{
	FILE *o = g->c;
	/* A message's helpers are always used; a type's may not be. */
	const char *kw = message ? "static" : "HV_IPC_HELPER";
	fprintf(o, "%s void enc_%s(hv_enc *e, const %s *v)\n{\n", kw, M, T);
	if (!n)
		fprintf(o, "\t(void)e;\n\t(void)v;\n");
	for (size_t i = 0; i < n; i++) {
		const char *x = ipcc_printf(g->a, "v->%s", fs[i].name);
		if (fs[i].attrs & ATTR_MAX_LENGTH)
			fprintf(o, "\tif (%s > %lluu && !e->err)\n\t\te->err = -EMSGSIZE; /* [MaxLength=%llu] */\n",
				length_expr(g, fs[i].type, x), (unsigned long long)fs[i].max_length,
				(unsigned long long)fs[i].max_length);
		enc_stmt(g, "\t", fs[i].type, "e", x);
	}
	fprintf(o, "}\n\n");

	fprintf(o, "%s bool dec_%s(hv_dec *d, %s *v)\n{\n", kw, M, T);
	if (!n)
		fprintf(o, "\t(void)d;\n\t(void)v;\n");
	for (size_t i = 0; i < n; i++) {
		const char *x = ipcc_printf(g->a, "v->%s", fs[i].name);
		fprintf(o, "\tif (!%s)\n\t\treturn false;\n", dec_expr(g, fs[i].type, "d", x));
		if (fs[i].attrs & ATTR_MAX_LENGTH)
			fprintf(o, "\tif (%s > %lluu) {\n\t\td->err = -EBADMSG; /* [MaxLength=%llu] */\n\t\treturn false;\n\t}\n",
				length_expr(g, fs[i].type, x), (unsigned long long)fs[i].max_length,
				(unsigned long long)fs[i].max_length);
	}
	fprintf(o, "\treturn true;\n}\n\n");

	bool res = false;
	for (size_t i = 0; i < n && !message; i++)
		res = res || ipcc_has_resources(fs[i].type);
	if (!res)
		return;
	fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n", M, T);
	for (size_t i = 0; i < n; i++)
		if (ipcc_has_resources(fs[i].type))
			rel_stmt(g, "\t", fs[i].type, ipcc_printf(g->a, "v->%s", fs[i].name));
	fprintf(o, "}\n\n");
}

/* Guard against a huge count of elements that take no payload bytes (only
 * fds): hv_dec_count cannot bound those by the message size. */
static void emit_count(gen *g, size_t min_wire)
{
	FILE *o = g->c;
	fprintf(o, "\tsize_t n;\n\tif (!hv_dec_count(d, %zu, &n))\n\t\treturn false;\n", min_wire);
	if (!min_wire)
		fprintf(o, "\tif (n > HV_IPC_MAX_FDS_PER_MESSAGE) {\n\t\td->err = -EBADMSG;\n\t\treturn false;\n\t}\n");
	fprintf(o, "\tv->items = NULL;\n\tv->count = 0;\n");
	fprintf(o, "\tif (n && !(v->items = hv_dec_alloc(d, n, sizeof(*v->items)))) {\n"
		   "\t\tif (!d->err)\n\t\t\td->err = -ENOMEM;\n\t\treturn false;\n\t}\n");
}

/* A recursive struct: its fields' helpers, wrapped by ones that count the
 * nesting (HV_IPC_MAX_DEPTH): a peer cannot exhaust the stack with a deep
 * value, and a cycle of pointers cannot make the encoder loop. */
static void emit_recursive_struct(gen *g, const ipcc_type *t, const char *T, const char *M)
{
	FILE *o = g->c;
	emit_fields_helpers(g, T, ipcc_printf(g->a, "%s_fields", M), t->def->fields, t->def->nfields, false);
	fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
	fprintf(o, "\tif (hv_ipc_depth >= HV_IPC_MAX_DEPTH) {\n\t\tif (!e->err)\n\t\t\te->err = -ELOOP;\n\t\treturn;\n\t}\n");
	fprintf(o, "\thv_ipc_depth++;\n\tenc_%s_fields(e, v);\n\thv_ipc_depth--;\n}\n\n", M);
	fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
	fprintf(o, "\tif (hv_ipc_depth >= HV_IPC_MAX_DEPTH) {\n\t\td->err = -EBADMSG;\n\t\treturn false;\n\t}\n");
	fprintf(o, "\thv_ipc_depth++;\n\tbool ok = dec_%s_fields(d, v);\n\thv_ipc_depth--;\n\treturn ok;\n}\n\n", M);
	if (ipcc_has_resources(t))
		fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n\trel_%s_fields(v);\n}\n\n", M, T, M);
}

/* Optional<S> of a recursive struct S: a pointer to one S, allocated from
 * the message's arena on decode. */
static void emit_boxed_optional(gen *g, const ipcc_type *t, const char *T, const char *M)
{
	FILE *o = g->c;
	fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
	fprintf(o, "\tif (v->present && !v->value) {\n\t\tif (!e->err)\n\t\t\te->err = -EINVAL; /* present without a value */\n"
		   "\t\treturn;\n\t}\n");
	fprintf(o, "\thv_enc_present(e, v->present);\n\tif (v->present)\n");
	enc_stmt(g, "\t\t", t->elem, "e", "*v->value");
	fprintf(o, "}\n\n");
	fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
	fprintf(o, "\tmemset(v, 0, sizeof(*v));\n\tif (!hv_dec_present(d, &v->present))\n\t\treturn false;\n");
	fprintf(o, "\tif (!v->present)\n\t\treturn true;\n");
	fprintf(o, "\tif (!(v->value = hv_dec_alloc(d, 1, sizeof(*v->value)))) {\n"
		   "\t\tif (!d->err)\n\t\t\td->err = -ENOMEM;\n\t\treturn false;\n\t}\n");
	fprintf(o, "\tmemset(v->value, 0, sizeof(*v->value));\n");
	fprintf(o, "\treturn %s;\n}\n\n", dec_expr(g, t->elem, "d", "*v->value"));
	if (ipcc_has_resources(t)) {
		fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n\tif (v->present && v->value)\n", M, T);
		rel_stmt(g, "\t\t", t->elem, "*v->value");
		fprintf(o, "}\n\n");
	}
}

/* Variant: u32 tag (the alternative's index), then that alternative. */
static void emit_variant_helpers(gen *g, const ipcc_type *t, const char *T, const char *M)
{
	FILE *o = g->c;
	fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n\thv_enc_u32(e, v->tag);\n\tswitch (v->tag) {\n", M, T);
	for (size_t i = 0; i < t->nalts; i++) {
		fprintf(o, "\tcase %zu:\n", i);
		if (t->alts[i]->kind != K_EMPTY)
			enc_stmt(g, "\t\t", t->alts[i], "e", ipcc_printf(g->a, "v->as_%s", ipcc_mangle(g->a, t->alts[i])));
		fprintf(o, "\t\tbreak;\n");
	}
	fprintf(o, "\tdefault:\n\t\tif (!e->err)\n\t\t\te->err = -EINVAL; /* not an alternative of %s */\n\t\tbreak;\n\t}\n}\n\n",
		ipcc_type_text(g->a, t));
	fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
	fprintf(o, "\tmemset(v, 0, sizeof(*v));\n\tif (!hv_dec_u32(d, &v->tag))\n\t\treturn false;\n\tswitch (v->tag) {\n");
	for (size_t i = 0; i < t->nalts; i++) {
		if (t->alts[i]->kind == K_EMPTY)
			fprintf(o, "\tcase %zu:\n\t\treturn true;\n", i);
		else
			fprintf(o, "\tcase %zu:\n\t\treturn %s;\n", i,
				dec_expr(g, t->alts[i], "d", ipcc_printf(g->a, "v->as_%s", ipcc_mangle(g->a, t->alts[i]))));
	}
	fprintf(o, "\tdefault:\n\t\td->err = -EBADMSG;\n\t\treturn false;\n\t}\n}\n\n");
	if (!ipcc_has_resources(t))
		return;
	fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n\tswitch (v->tag) {\n", M, T);
	for (size_t i = 0; i < t->nalts; i++)
		if (ipcc_has_resources(t->alts[i])) {
			fprintf(o, "\tcase %zu:\n", i);
			rel_stmt(g, "\t\t", t->alts[i], ipcc_printf(g->a, "v->as_%s", ipcc_mangle(g->a, t->alts[i])));
			fprintf(o, "\t\tbreak;\n");
		}
	fprintf(o, "\tdefault:\n\t\tbreak;\n\t}\n}\n\n");
}

static void emit_type_helpers(gen *g, const ipcc_type *t)
{
	FILE *o = g->c;
	const char *T = ipcc_ctype(g->a, t);
	const char *M = ipcc_mangle(g->a, t);
	switch (t->kind) {
	case K_STRUCT:
		if (t->def->recursive) {
			emit_recursive_struct(g, t, T, M);
			return;
		}
		emit_fields_helpers(g, T, M, t->def->fields, t->def->nfields, false);
		return;
	case K_FLAGS: {
		ipcc_def *d = t->def;
		const char *fn = int_fn(d->underlying->kind);
		const char *mask = ipcc_printf(g->a, "(%s)0x%llx%s", T, (unsigned long long)d->flag_mask,
					       d->underlying->kind == K_U64 ? "ull" : "u");
		fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
		fprintf(o, "\tif ((*v & ~%s) && !e->err)\n\t\te->err = -EINVAL; /* a bit no flag of %s declares */\n", mask,
			d->name);
		fprintf(o, "\thv_enc_%s(e, *v);\n}\n\n", fn);
		fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
		fprintf(o, "\tif (!hv_dec_%s(d, v))\n\t\treturn false;\n", fn);
		fprintf(o, "\tif (*v & ~%s) {\n\t\td->err = -EBADMSG;\n\t\treturn false;\n\t}\n\treturn true;\n}\n\n", mask);
		return;
	}
	case K_VARIANT:
		emit_variant_helpers(g, t, T, M);
		return;
	case K_ENUM: {
		ipcc_def *d = t->def;
		const char *U = ipcc_ctype(g->a, d->underlying);
		const char *fn = int_fn(d->underlying->kind);
		fprintf(o, "HV_IPC_HELPER bool valid_%s(int64_t x)\n{\n\tswitch (x) {\n", M);
		for (size_t i = 0; i < d->nenumerators; i++) {
			bool dup = false;
			for (size_t k = 0; k < i; k++)
				dup = dup || d->enumerators[k].value == d->enumerators[i].value;
			if (!dup)
				fprintf(o, "\tcase %lld:\n", (long long)d->enumerators[i].value);
		}
		fprintf(o, "\t\treturn true;\n\tdefault:\n\t\treturn false;\n\t}\n}\n\n");
		fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
		fprintf(o, "\tif (!valid_%s(*v) && !e->err)\n\t\te->err = -EINVAL; /* not a %s */\n", M, d->name);
		fprintf(o, "\thv_enc_%s(e, (%s)*v);\n}\n\n", fn, U);
		fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n\t%s raw;\n", M, T, U);
		fprintf(o, "\tif (!hv_dec_%s(d, &raw))\n\t\treturn false;\n", fn);
		fprintf(o, "\tif (!valid_%s(raw)) {\n\t\td->err = -EBADMSG;\n\t\treturn false;\n\t}\n", M);
		fprintf(o, "\t*v = (%s)raw;\n\treturn true;\n}\n\n", T);
		return;
	}
	case K_VECTOR:
		fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
		fprintf(o, "\thv_enc_count(e, v->count);\n\tfor (size_t i = 0; i < v->count; i++)\n");
		enc_stmt(g, "\t\t", t->elem, "e", "v->items[i]");
		fprintf(o, "}\n\n");
		fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
		emit_count(g, ipcc_min_wire(t->elem));
		fprintf(o, "\tfor (size_t i = 0; i < n; i++)\n\t\tif (!%s)\n\t\t\treturn false;\n",
			dec_expr(g, t->elem, "d", "v->items[i]"));
		fprintf(o, "\tv->count = n;\n\treturn true;\n}\n\n");
		if (ipcc_has_resources(t)) {
			fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n\tfor (size_t i = 0; i < v->count; i++)\n", M, T);
			rel_stmt(g, "\t\t", t->elem, "v->items[i]");
			fprintf(o, "}\n\n");
		}
		return;
	case K_OPTIONAL:
		if (ipcc_opt_boxed(t)) {
			emit_boxed_optional(g, t, T, M);
			return;
		}
		fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
		fprintf(o, "\thv_enc_present(e, v->present);\n\tif (v->present)\n");
		enc_stmt(g, "\t\t", t->elem, "e", "v->value");
		fprintf(o, "}\n\n");
		fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
		fprintf(o, "\tmemset(v, 0, sizeof(*v));\n\tif (!hv_dec_present(d, &v->present))\n\t\treturn false;\n");
		fprintf(o, "\treturn !v->present || %s;\n}\n\n", dec_expr(g, t->elem, "d", "v->value"));
		if (ipcc_has_resources(t)) {
			fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n\tif (v->present)\n", M, T);
			rel_stmt(g, "\t\t", t->elem, "v->value");
			fprintf(o, "}\n\n");
		}
		return;
	case K_MAP:
		fprintf(o, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v)\n{\n", M, T);
		fprintf(o, "\thv_enc_count(e, v->count);\n\tfor (size_t i = 0; i < v->count; i++) {\n");
		enc_stmt(g, "\t\t", t->elem, "e", "v->items[i].key");
		enc_stmt(g, "\t\t", t->value, "e", "v->items[i].value");
		fprintf(o, "\t}\n}\n\n");
		fprintf(o, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v)\n{\n", M, T);
		emit_count(g, ipcc_min_wire(t->elem) + ipcc_min_wire(t->value));
		fprintf(o, "\tfor (size_t i = 0; i < n; i++)\n\t\tif (!%s ||\n\t\t    !%s)\n\t\t\treturn false;\n",
			dec_expr(g, t->elem, "d", "v->items[i].key"), dec_expr(g, t->value, "d", "v->items[i].value"));
		fprintf(o, "\tv->count = n;\n\treturn true;\n}\n\n");
		if (ipcc_has_resources(t)) {
			fprintf(o, "HV_IPC_HELPER void rel_%s(%s *v)\n{\n\tfor (size_t i = 0; i < v->count; i++) {\n", M, T);
			if (ipcc_has_resources(t->elem))
				rel_stmt(g, "\t\t", t->elem, "v->items[i].key");
			if (ipcc_has_resources(t->value))
				rel_stmt(g, "\t\t", t->value, "v->items[i].value");
			fprintf(o, "\t}\n}\n\n");
		}
		return;
	default: return;
	}
}

/* --- per endpoint --------------------------------------------------------- */
/* Client functions name their connection / callback / userdata parameters
 * c, cb and ud unless the message has a parameter of that name. */
static const char *local(const ipcc_message *m, const char *want)
{
	for (size_t i = 0; i < m->nparams; i++)
		if (!strcmp(m->params[i].name, "c") || !strcmp(m->params[i].name, "cb") ||
		    !strcmp(m->params[i].name, "ud"))
			return !strcmp(want, "c") ? "hv_c" : !strcmp(want, "cb") ? "hv_cb" : "hv_ud";
	return want;
}

static const char *client_params(gen *g, const ipcc_message *m)
{
	char *s = ipcc_printf(g->a, "hv_conn *%s", local(m, "c"));
	for (size_t i = 0; i < m->nparams; i++)
		s = ipcc_printf(g->a, "%s, %s", s, decl(g, m->params[i].type, m->params[i].name));
	return s;
}

static const char *sync_proto(gen *g, const ipcc_endpoint *ep, const ipcc_message *m)
{
	char *s = ipcc_printf(g->a, "int %s_%s(%s", ep->prefix, m->snake, client_params(g, m));
	for (size_t i = 0; i < m->nresults; i++)
		s = ipcc_printf(g->a, "%s, %s", s, out_decl(g, m->results[i].type, m->results[i].name));
	return ipcc_printf(g->a, "%s)", s);
}

static const char *async_proto(gen *g, const ipcc_endpoint *ep, const ipcc_message *m)
{
	return ipcc_printf(g->a, "int %s_%s_async(%s, %s_%s_cb %s, void *%s)", ep->prefix, m->snake, client_params(g, m),
			   ep->prefix, m->snake, local(m, "cb"), local(m, "ud"));
}

static void emit_endpoint_header(gen *g, const ipcc_endpoint *ep)
{
	FILE *h = g->h;
	const char *P = ep->prefix;
	comment(h, ipcc_printf(g->a, "===== endpoint %s: magic 0x%08x (FNV-1a of \"%s\") =====", ep->name, ep->magic, ep->name),
		ep->doc);
	fprintf(h, "\n");
	fprintf(h, "extern const hv_endpoint %s_endpoint;\n\n", P);
	if (ep->nmessages) {
		fprintf(h, "enum {\n");
		for (size_t i = 0; i < ep->nmessages; i++)
			fprintf(h, "\t%s_MSG_%s = %u,\n", ep->upper, ep->messages[i].upper, ep->messages[i].id);
		fprintf(h, "};\n\n");
	}
	if (ep->nerrors) {
		fprintf(h, "/* Errors of %s: a handler returns one (or %s_error() with a message),\n"
			   " * a call fails with it; hv_conn_last_error(c)->message has the text. */\nenum {\n",
			ep->name, P);
		for (size_t i = 0; i < ep->nerrors; i++) {
			const ipcc_error_decl *e = &ep->errors[i];
			if (*e->doc)
				comment(h, e->name, e->doc);
			fprintf(h, "\t%s_ERR_%s = -%lld,\n", ep->upper, e->upper, (long long)(IPCC_ERROR_BASE + e->number));
		}
		fprintf(h, "};\n");
		fprintf(h, "/* Fail the call being handled with one of these errors; fmt NULL gives the\n"
			   " * contract's message. Returns code: `return %s_error(call, CODE, NULL);`. */\n", P);
		fprintf(h, "int %s_error(hv_call *call, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));\n", P);
		fprintf(h, "/* The error's name (\"%s\") and contract message, or NULL if code is none of these. */\n",
			ep->errors[0].name);
		fprintf(h, "const char *%s_error_name(int code);\nconst char *%s_error_message(int code);\n\n", P, P);
	}
	for (size_t i = 0; i < ep->nmessages; i++) {
		const ipcc_message *m = &ep->messages[i];
		const char *pm = ipcc_printf(g->a, "%s_%s", P, m->snake);
		comment(h, ipcc_printf(g->a, "%u: %s", m->id, message_sig(g, m)), m->doc);
		fprintf(h, "typedef struct %s_req {\n", pm);
		emit_struct_body(g, m->params, m->nparams);
		fprintf(h, "} %s_req;\n", pm);
		if (m->oneway) {
			fprintf(h, "/* Queue the message; 0 or a negative errno. */\n");
			fprintf(h, "int %s(%s);\n\n", pm, client_params(g, m));
			continue;
		}
		fprintf(h, "typedef struct %s_rep {\n", pm);
		emit_struct_body(g, m->results, m->nresults);
		fprintf(h, "} %s_rep;\n", pm);
		fprintf(h, "/* Sync call: 0, or a negative errno / the handler's error code. */\n");
		fprintf(h, "%s;\n", sync_proto(g, ep, m));
		fprintf(h, "typedef void (*%s_cb)(hv_conn *c, int status, const %s_rep *rep, void *ud);\n", pm, pm);
		fprintf(h, "/* Async call: 0 and cb runs exactly once later (status < 0: rep is NULL),\n"
			   " * or a negative errno and cb never runs. */\n");
		fprintf(h, "%s;\n", async_proto(g, ep, m));
		fprintf(h, "/* Reply to a held call (handler returned HV_IPC_DEFERRED). */\n");
		fprintf(h, "int %s_respond(hv_call *call, const %s_rep *rep);\n\n", pm, pm);
	}
	fprintf(h, "/* Handlers: one per message; NULL answers -ENOSYS (one-way: ignored). */\n");
	fprintf(h, "typedef struct %s_handlers {\n", P);
	if (!ep->nmessages)
		fprintf(h, "\tchar hv_empty; /* no messages */\n");
	for (size_t i = 0; i < ep->nmessages; i++) {
		const ipcc_message *m = &ep->messages[i];
		if (m->oneway)
			fprintf(h, "\tint (*%s)(hv_call *call, const %s_%s_req *req);\n", m->snake, P, m->snake);
		else
			fprintf(h, "\tint (*%s)(hv_call *call, const %s_%s_req *req, %s_%s_rep *rep);\n", m->snake, P,
				m->snake, P, m->snake);
	}
	fprintf(h, "} %s_handlers;\n", P);
	/* The table with every handler named: a missing one is a wrong argument
	 * count, a misplaced one an incompatible pointer (each handler's type
	 * differs), both compile errors, where a designated initializer would
	 * leave the field NULL and answer -ENOSYS at run time. */
	fprintf(h, "/* Every handler, in message order (pass NULL to leave one out on purpose):\n"
		   " * `static const %s_handlers h = %s_HANDLERS(", P, ep->upper);
	for (size_t i = 0; i < ep->nmessages; i++)
		fprintf(h, "%son_%s", i ? ", " : "", ep->messages[i].snake);
	fprintf(h, ");` */\n#define %s_HANDLERS(", ep->upper);
	for (size_t i = 0; i < ep->nmessages; i++)
		fprintf(h, "%shv_%zu", i ? ", " : "", i + 1);
	fprintf(h, ") {");
	if (!ep->nmessages)
		fprintf(h, "0");
	for (size_t i = 0; i < ep->nmessages; i++)
		fprintf(h, "%s(hv_%zu)", i ? ", " : "", i + 1);
	fprintf(h, "}\n\n");
}

/* The declared errors' table and helpers. A handler that returns a named
 * code without giving a message (no <prefix>_error() call for this call and
 * code) gets the contract's message on the wire. */
static void emit_errors_source(gen *g, const ipcc_endpoint *ep)
{
	FILE *o = g->c;
	const char *P = ep->prefix;
	fprintf(o, "static const struct {\n\tint code;\n\tconst char *name, *message;\n} %s_errors[] = {\n", P);
	for (size_t i = 0; i < ep->nerrors; i++)
		fprintf(o, "\t{%s_ERR_%s, \"%s\", \"%s\"},\n", ep->upper, ep->errors[i].upper, ep->errors[i].name,
			ep->errors[i].message);
	fprintf(o, "};\n\n");
	fprintf(o, "static int %s_error_index(int code)\n{\n", P);
	fprintf(o, "\tfor (size_t i = 0; i < sizeof(%s_errors) / sizeof(%s_errors[0]); i++)\n", P, P);
	fprintf(o, "\t\tif (%s_errors[i].code == code)\n\t\t\treturn (int)i;\n\treturn -1;\n}\n\n", P);
	fprintf(o, "const char *%s_error_name(int code)\n{\n\tint i = %s_error_index(code);\n"
		   "\treturn i < 0 ? NULL : %s_errors[i].name;\n}\n\n", P, P, P);
	fprintf(o, "const char *%s_error_message(int code)\n{\n\tint i = %s_error_index(code);\n"
		   "\treturn i < 0 ? NULL : %s_errors[i].message;\n}\n\n", P, P, P);
	fprintf(o, "/* The call and code %s_error() last gave a message for (this thread). */\n", P);
	fprintf(o, "static __thread const hv_call *%s_failed_call;\nstatic __thread int %s_failed_code;\n\n", P, P);
	fprintf(o, "int %s_error(hv_call *call, int code, const char *fmt, ...)\n{\n", P);
	fprintf(o, "\tif (!fmt)\n\t\treturn hv_call_fail(call, code, \"%%s\", %s_error_message(code) ? %s_error_message(code) : strerror(-code));\n", P, P);
	fprintf(o, "\tchar text[1024];\n\tva_list ap;\n\tva_start(ap, fmt);\n\tvsnprintf(text, sizeof(text), fmt, ap);\n\tva_end(ap);\n");
	fprintf(o, "\t%s_failed_call = call;\n\t%s_failed_code = code;\n", P, P);
	fprintf(o, "\treturn hv_call_fail(call, code, \"%%s\", text);\n}\n\n");
	fprintf(o, "static const char *%s_default_message(const hv_call *call, int code)\n{\n", P);
	fprintf(o, "\tbool given = %s_failed_call == call && %s_failed_code == code;\n", P, P);
	fprintf(o, "\t%s_failed_call = NULL;\n", P);
	fprintf(o, "\treturn given ? NULL : %s_error_message(code);\n}\n\n", P);
}

/* A C string literal, split into lines of a readable width. */
static void put_c_string(FILE *o, const char *s)
{
	size_t col = 0;
	fputs("\n\t\t\"", o);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (col >= 88) {
			fputs("\"\n\t\t\"", o);
			col = 0;
		}
		if (*p == '"' || *p == '\\')
			col += (size_t)fprintf(o, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f || *p == '?')
			col += (size_t)fprintf(o, "\\%03o", *p); /* no trigraphs, no hex run-on */
		else
			col += (size_t)(fputc(*p, o) != EOF);
	}
	fputc('"', o);
}

static void emit_endpoint_source(gen *g, const ipcc_endpoint *ep)
{
	FILE *o = g->c;
	const char *P = ep->prefix;
	fprintf(o, "/* ===== endpoint %s ===== */\n\n", ep->name);
	if (ep->nerrors)
		emit_errors_source(g, ep);
	for (size_t i = 0; i < ep->nmessages; i++) {
		const ipcc_message *m = &ep->messages[i];
		const char *pm = ipcc_printf(g->a, "%s_%s", P, m->snake);
		const char *C = local(m, "c");
		fprintf(o, "/* %u: %s */\n\n", m->id, message_sig(g, m));
		emit_fields_helpers(g, ipcc_printf(g->a, "%s_req", pm), ipcc_printf(g->a, "%s_req", pm), m->params,
				    m->nparams, true);
		if (!m->oneway)
			emit_fields_helpers(g, ipcc_printf(g->a, "%s_rep", pm), ipcc_printf(g->a, "%s_rep", pm),
					    m->results, m->nresults, true);

		/* Client side: pack the arguments into the request struct. */
		const char *req_init;
		if (!m->nparams) {
			req_init = "{0}";
		} else {
			char *s = "{";
			for (size_t k = 0; k < m->nparams; k++)
				s = ipcc_printf(g->a, "%s%s.%s = %s", s, k ? ", " : "", m->params[k].name,
						m->params[k].name);
			req_init = ipcc_printf(g->a, "%s}", s);
		}
		const char *begin = ipcc_printf(
			g->a,
			"\t%s_req hv_req = %s;\n\thv_enc hv_e;\n\thv_enc_init(&hv_e, &%s_endpoint, %s_MSG_%s, %s);\n"
			"\tenc_%s_req(&hv_e, &hv_req);\n",
			pm, req_init, P, ep->upper, m->upper, m->oneway ? "HV_MSG_ONEWAY" : "HV_MSG_REQUEST", pm);

		if (m->oneway) {
			fprintf(o, "int %s(%s)\n{\n%s", pm, client_params(g, m), begin);
			fprintf(o, "\treturn hv_conn_send(%s, &hv_e);\n}\n\n", C);
		} else {
			/* Reply decoding shared by the sync and async forms. */
			fprintf(o, "static int reply_%s(hv_conn *c, hv_msg *reply, %s_rep *rep)\n{\n", pm, pm);
			fprintf(o, "\thv_dec d;\n\tmemset(rep, 0, sizeof(*rep));\n\thv_dec_init(&d, reply);\n");
			fprintf(o, "\tif (!dec_%s_rep(&d, rep) || hv_dec_finish(&d) < 0) {\n", pm);
			fprintf(o, "\t\thv_conn_misbehave(c, \"malformed reply to %s.%s\");\n", ep->name, m->name);
			fprintf(o, "\t\treturn d.err == -ENOMEM ? -ENOMEM : -EBADMSG;\n\t}\n");
			fprintf(o, "\thv_msg_give_all(reply); /* results' fds and buffers are the caller's */\n");
			fprintf(o, "\treturn 0;\n}\n\n");

			fprintf(o, "%s\n{\n%s", sync_proto(g, ep, m), begin);
			fprintf(o, "\thv_msg *hv_reply = NULL;\n\tint hv_r = hv_conn_call(%s, &hv_e, -1, &hv_reply);\n", C);
			fprintf(o, "\thv_enc_release(&hv_e);\n\tif (hv_r < 0)\n\t\treturn hv_r;\n");
			fprintf(o, "\t%s_rep hv_rep;\n\thv_r = reply_%s(%s, hv_reply, &hv_rep);\n", pm, pm, C);
			fprintf(o, "\tif (hv_r < 0)\n\t\treturn hv_r;\n");
			for (size_t k = 0; k < m->nresults; k++) {
				const ipcc_field *r = &m->results[k];
				fprintf(o, "\tif (%s_out)\n\t\t*%s_out = hv_rep.%s;\n", r->name, r->name, r->name);
				if (ipcc_has_resources(r->type)) {
					fprintf(o, "\telse\n");
					rel_stmt(g, "\t\t", r->type, ipcc_printf(g->a, "hv_rep.%s", r->name));
				}
			}
			fprintf(o, "\treturn 0;\n}\n\n");

			/* Async: the context notes whether the callback already ran
			 * inside hv_conn_call_async (a connection ending right then),
			 * so it is freed exactly once whatever the runtime did. */
			fprintf(o, "struct %s_async {\n\t%s_cb cb;\n\tvoid *ud;\n\tbool in_call, fired;\n};\n\n", pm, pm);
			fprintf(o, "static void %s_async_done(hv_conn *c, int status, hv_msg *reply, void *userdata)\n{\n", pm);
			fprintf(o, "\tstruct %s_async *x = userdata;\n\t%s_rep rep;\n", pm, pm);
			fprintf(o, "\tif (status >= 0 && reply)\n\t\tstatus = reply_%s(c, reply, &rep);\n", pm);
			fprintf(o, "\telse if (status >= 0)\n\t\tstatus = -EBADMSG;\n");
			fprintf(o, "\tx->cb(c, status, status < 0 ? NULL : &rep, x->ud);\n");
			fprintf(o, "\tif (x->in_call)\n\t\tx->fired = true;\n\telse\n\t\tfree(x);\n}\n\n");
			fprintf(o, "%s\n{\n", async_proto(g, ep, m));
			fprintf(o, "\tif (!%s)\n\t\treturn -EINVAL;\n", local(m, "cb"));
			fprintf(o, "\tstruct %s_async *hv_x = malloc(sizeof(*hv_x));\n\tif (!hv_x)\n\t\treturn -ENOMEM;\n", pm);
			fprintf(o, "\t*hv_x = (struct %s_async){.cb = %s, .ud = %s, .in_call = true};\n", pm, local(m, "cb"),
				local(m, "ud"));
			fprintf(o, "%s", begin);
			fprintf(o, "\tint hv_r = hv_conn_call_async(%s, &hv_e, %s_async_done, hv_x);\n", C, pm);
			fprintf(o, "\thv_enc_release(&hv_e);\n");
			fprintf(o, "\tif (hv_x->fired) {\n\t\tfree(hv_x);\n\t\treturn 0; /* cb already told the caller */\n\t}\n");
			fprintf(o, "\tif (hv_r < 0) {\n\t\tfree(hv_x);\n\t\treturn hv_r;\n\t}\n");
			fprintf(o, "\thv_x->in_call = false;\n\treturn 0;\n}\n\n");

			fprintf(o, "int %s_respond(hv_call *call, const %s_rep *rep)\n{\n", pm, pm);
			fprintf(o, "\thv_enc e;\n\thv_call_reply_init(call, &e);\n\tenc_%s_rep(&e, rep);\n", pm);
			fprintf(o, "\tint r = hv_call_respond(call, &e);\n\thv_enc_release(&e);\n\treturn r;\n}\n\n");
		}

		/* Server side. */
		fprintf(o, "static int dispatch_%s(hv_call *call, hv_msg *msg, const %s_handlers *h)\n{\n", pm, P);
		if (m->oneway)
			fprintf(o, "\tif (hv_msg_kind(msg) != HV_MSG_ONEWAY && hv_msg_kind(msg) != HV_MSG_EVENT)\n");
		else
			fprintf(o, "\tif (hv_msg_kind(msg) != HV_MSG_REQUEST)\n");
		fprintf(o, "\t\treturn -EBADMSG;\n");
		fprintf(o, "\t%s_req req;\n\tmemset(&req, 0, sizeof(req));\n\thv_dec d;\n\thv_dec_init(&d, msg);\n", pm);
		fprintf(o, "\tif (!dec_%s_req(&d, &req) || hv_dec_finish(&d) < 0)\n", pm);
		fprintf(o, "\t\treturn d.err == -ENOMEM ? -ENOMEM : -EBADMSG;\n");
		if (m->oneway) {
			fprintf(o, "\tif (!h->%s)\n\t\treturn 0;\n", m->snake);
			fprintf(o, "\t/* -EBADMSG from a one-way handler: the peer sent nonsense, end it. */\n");
			fprintf(o, "\tint r = h->%s(call, &req);\n\treturn r == -EBADMSG ? r : 0;\n}\n\n", m->snake);
		} else {
			fprintf(o, "\tif (!h->%s) {\n\t\thv_call_respond_error(call, -ENOSYS, \"%s.%s has no handler\");\n"
				   "\t\treturn 0;\n\t}\n",
				m->snake, ep->name, m->name);
			fprintf(o, "\t%s_rep rep;\n\tmemset(&rep, 0, sizeof(rep));\n", pm);
			if (ep->nerrors)
				fprintf(o, "\t%s_failed_call = NULL;\n", P);
			fprintf(o, "\tint r = h->%s(call, &req, &rep);\n", m->snake);
			fprintf(o, "\tif (r == HV_IPC_DEFERRED)\n\t\treturn 0;\n");
			fprintf(o, "\t/* Answered here, so a handler's -EBADMSG is the client's error, not ours. */\n");
			if (ep->nerrors)
				fprintf(o, "\tif (r < 0)\n\t\thv_call_respond_error(call, r, %s_default_message(call, r));\n", P);
			else
				fprintf(o, "\tif (r < 0)\n\t\thv_call_respond_error(call, r, NULL);\n");
			fprintf(o, "\telse\n\t\t%s_respond(call, &rep);\n\treturn 0;\n}\n\n", pm);
		}
	}

	fprintf(o, "static int %s_dispatch(hv_call *call, hv_msg *msg, const void *handlers)\n{\n", P);
	if (!ep->nmessages) {
		fprintf(o, "\t(void)call;\n\t(void)msg;\n\t(void)handlers;\n\treturn -EBADMSG;\n}\n\n");
	} else {
		fprintf(o, "\tconst %s_handlers *h = handlers;\n\tswitch (hv_msg_id(msg)) {\n", P);
		for (size_t i = 0; i < ep->nmessages; i++)
			fprintf(o, "\tcase %s_MSG_%s:\n\t\treturn dispatch_%s_%s(call, msg, h);\n", ep->upper,
				ep->messages[i].upper, P, ep->messages[i].snake);
		fprintf(o, "\tdefault:\n\t\treturn -EBADMSG;\n\t}\n}\n\n");
		fprintf(o, "static const char *const %s_message_names[] = {\n", P);
		for (size_t i = 0; i < ep->nmessages; i++)
			fprintf(o, "\t\"%s\",\n", ep->messages[i].name);
		fprintf(o, "};\n\n");
	}
	fprintf(o, "const hv_endpoint %s_endpoint = {\n\t.name = \"%s\",\n\t.magic = 0x%08xu,\n", P, ep->name, ep->magic);
	fprintf(o, "\t.message_count = %zu,\n\t.message_names = %s,\n\t.dispatch = %s_dispatch,\n", ep->nmessages,
		ep->nmessages ? ipcc_printf(g->a, "%s_message_names", P) : "NULL", P);
	fprintf(o, "\t/* The contract, for introspection (ipcc --describe). */\n\t.description =");
	put_c_string(o, ipcc_describe(g->a, ep));
	fprintf(o, ",\n};\n\n");
}

static const char *const ownership_comment =
	" * Ownership (the rules of haven/ipc.h, as they apply to this API):\n"
	" *  - A handler's `req` is borrowed: strings, bytes and arrays point into\n"
	" *    the received message and live until the handler returns (for a held\n"
	" *    call, until it is answered). fds and buffers in it are closed after\n"
	" *    the handler unless it keeps them with hv_call_take_fd/_buffer().\n"
	" *  - A handler fills `rep` with memory from hv_call_alloc()/_strdup() (the\n"
	" *    call's arena, released after the reply is sent) or with data that\n"
	" *    outlives the call. Sending never takes anything: fds and buffers put\n"
	" *    in `rep` stay the handler's (the runtime duplicates them).\n"
	" *  - Sync calls: `*_out` strings, bytes and arrays stay valid until the\n"
	" *    next call on the connection; fds and buffers become the caller's\n"
	" *    (close / hv_buffer_release / hv_bitmap_release). A NULL out-pointer\n"
	" *    discards that result (its fds are closed for you).\n"
	" *  - Async calls: `rep` is valid during the callback; its fds and buffers\n"
	" *    become the callback's.\n"
	" *  - Arguments are never taken: what you pass stays yours.\n";

int ipcc_generate(ipcc_unit *u, char **header, size_t *header_len, char **source, size_t *source_len)
{
	ipcc_file *f = u->files[0];
	gen g = {.u = u, .a = &u->arena, .f = f};
	char *hbuf = NULL, *cbuf = NULL;
	size_t hlen = 0, clen = 0;
	g.h = open_memstream(&hbuf, &hlen);
	g.c = open_memstream(&cbuf, &clen);
	if (!g.h || !g.c) {
		if (g.h)
			fclose(g.h);
		if (g.c)
			fclose(g.c);
		free(hbuf);
		free(cbuf);
		return -1;
	}

	/* Every type the file defines, and whatever its messages use. */
	for (size_t i = 0; i < f->ndefs; i++)
		if (f->defs[i]->kind != DEF_ALIAS)
			collect_all(&g, def_type(&g, f->defs[i]));
	for (size_t e = 0; e < f->nendpoints; e++)
		for (size_t i = 0; i < f->endpoints[e].nmessages; i++) {
			const ipcc_message *m = &f->endpoints[e].messages[i];
			for (size_t k = 0; k < m->nparams; k++)
				collect_all(&g, m->params[k].type);
			for (size_t k = 0; k < m->nresults; k++)
				collect_all(&g, m->results[k].type);
		}

	fprintf(g.h, "/* %s.ipc.h — generated by ipcc from %s.ipc; do not edit.\n *\n", f->base, f->base);
	fprintf(g.h, " * Types and endpoints of %s.ipc as C (see docs/ipc-language.md).\n", f->base);
	fputs(ownership_comment, g.h);
	fprintf(g.h, " */\n#pragma once\n\n#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n\n");
	fprintf(g.h, "#include <haven/ipc.h>\n\n");
	emit_forward_decls(&g);
	for (size_t i = 0; i < g.ntypes; i++)
		emit_type_def(&g, g.types[i]);
	for (size_t i = 0; i < g.ntypes; i++)
		if (g.types[i]->kind == K_MAP)
			emit_map_entry(&g, g.types[i]);
	for (size_t e = 0; e < f->nendpoints; e++)
		emit_endpoint_header(&g, &f->endpoints[e]);

	fprintf(g.c, "/* %s.ipc.c — generated by ipcc from %s.ipc; do not edit.\n *\n", f->base, f->base);
	fprintf(g.c, " * Encoders, decoders, client stubs and dispatch for %s.ipc.\n */\n", f->base);
	fprintf(g.c, "#include <errno.h>\n");
	bool errors = false;
	for (size_t e = 0; e < f->nendpoints; e++)
		errors = errors || f->endpoints[e].nerrors;
	if (errors)
		fprintf(g.c, "#include <stdarg.h>\n#include <stdio.h>\n");
	fprintf(g.c, "#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n\n");
	fprintf(g.c, "#include \"%s.ipc.h\"\n\n", f->base);
	fprintf(g.c, "/* Helpers exist for every type the file declares; not all are used. */\n");
	fprintf(g.c, "#define HV_IPC_HELPER static __attribute__((unused))\n\n");
	bool recursive = false;
	for (size_t i = 0; i < g.ntypes; i++)
		recursive = recursive || ipcc_is_recursive(g.types[i]);
	if (recursive)
		fprintf(g.c, "/* Values of recursive types nest at most this deep: deeper is a malformed\n"
			     " * message (decode) or -ELOOP (encode; also catches a cycle of pointers). */\n"
			     "#ifndef HV_IPC_MAX_DEPTH\n#define HV_IPC_MAX_DEPTH 64\n#endif\n"
			     "static __thread unsigned hv_ipc_depth;\n\n");
	if (g.ntypes) {
		for (size_t i = 0; i < g.ntypes; i++) {
			const char *T = ipcc_ctype(g.a, g.types[i]);
			const char *M = ipcc_mangle(g.a, g.types[i]);
			fprintf(g.c, "HV_IPC_HELPER void enc_%s(hv_enc *e, const %s *v);\n", M, T);
			fprintf(g.c, "HV_IPC_HELPER bool dec_%s(hv_dec *d, %s *v);\n", M, T);
			if (ipcc_has_resources(g.types[i]))
				fprintf(g.c, "HV_IPC_HELPER void rel_%s(%s *v);\n", M, T);
		}
		fprintf(g.c, "\n");
	}
	for (size_t i = 0; i < g.ntypes; i++)
		emit_type_helpers(&g, g.types[i]);
	for (size_t e = 0; e < f->nendpoints; e++)
		emit_endpoint_source(&g, &f->endpoints[e]);

	bool bad = ferror(g.h) || ferror(g.c);
	bad = fclose(g.h) != 0 || bad;
	bad = fclose(g.c) != 0 || bad;
	if (bad) {
		free(hbuf);
		free(cbuf);
		return -1;
	}
	*header = hbuf;
	*header_len = hlen;
	*source = cbuf;
	*source_len = clen;
	return 0;
}
