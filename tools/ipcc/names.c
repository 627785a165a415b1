/* names.c — how .ipc names and types become C names, and the facts about
 * each type the generator needs (wire size, fds, C spelling). Kept apart
 * from the generator so the checker can predict every generated name and
 * refuse collisions before any C is written.
 */
#include <ctype.h>
#include <string.h>

#include "ipcc.h"

/* "EchoServer" → "echo_server", "WM_SetActiveWindow" → "wm_set_active_window",
 * "HTTPServer" → "http_server", "read_string_value" unchanged. */
char *ipcc_snake(ipcc_arena *a, const char *name)
{
	size_t n = strlen(name);
	char *out = ipcc_alloc(a, 2 * n + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];
		if (isupper(c) && i > 0 && name[i - 1] != '_') {
			unsigned char prev = (unsigned char)name[i - 1];
			unsigned char next = (unsigned char)name[i + 1];
			if (islower(prev) || isdigit(prev) || (isupper(prev) && islower(next)))
				out[k++] = '_';
		}
		out[k++] = (char)tolower(c);
	}
	out[k] = 0;
	return out;
}

char *ipcc_upper(ipcc_arena *a, const char *snake)
{
	char *r = ipcc_strdup(a, snake);
	for (char *c = r; *c; c++)
		*c = (char)toupper((unsigned char)*c);
	return r;
}

/* FNV-1a 32-bit, as hv_ipc_magic() computes it at run time. */
uint32_t ipcc_fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Names a field or parameter may not take: C's keywords and common macro
 * names (the generated C would not compile), and the hv_ prefix, which
 * generated code uses for its own locals. */
bool ipcc_is_c_reserved(const char *name)
{
	static const char *const words[] = {
		"auto", "break", "case", "char", "const", "continue", "default", "do", "double",
		"else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
		"register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
		"switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool",
		"true", "false", "alignas", "alignof", "static_assert", "thread_local", "typeof",
		"nullptr", "constexpr", "asm", "errno", "NULL", "endpoint", "import",
		/* predefined as 1 by gcc/clang in gnu modes */
		"linux", "unix", "i386",
		"stdin", "stdout", "stderr", "assert", "offsetof",
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(words[i], name))
			return true;
	if (name[0] == '_' || !strncmp(name, "hv_", 3) || !strncmp(name, "HV_", 3))
		return true;
	/* errno macros (EINVAL, E2BIG...), which the generated code includes. */
	if (name[0] == 'E' && name[1]) {
		const char *c = name + 1;
		while ((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
			c++;
		if (!*c)
			return true;
	}
	return false;
}

bool ipcc_is_int_kind(enum ipcc_kind k)
{
	return k >= K_I8 && k <= K_U64;
}

static size_t scalar_size(enum ipcc_kind k)
{
	switch (k) {
	case K_BOOL: case K_I8: case K_U8: return 1;
	case K_I16: case K_U16: return 2;
	case K_I32: case K_U32: case K_F32: return 4;
	case K_I64: case K_U64: case K_F64: return 8;
	default: return 0;
	}
}

size_t ipcc_min_wire(const ipcc_type *t)
{
	switch (t->kind) {
	case K_STRING: case K_BYTESTRING: return 5; /* u32 length + NUL */
	case K_BYTES: case K_VECTOR: case K_MAP: return 4;
	case K_OPTIONAL: return 1;
	case K_FILE: case K_EMPTY: return 0;
	case K_VARIANT: {
		size_t m = SIZE_MAX;
		for (size_t i = 0; i < t->nalts; i++) {
			size_t w = ipcc_min_wire(t->alts[i]);
			m = w < m ? w : m;
		}
		return 4 + (m == SIZE_MAX ? 0 : m); /* u32 tag + the smallest alternative */
	}
	case K_BUFFER: return 9;  /* u64 size + u8 flags */
	case K_BITMAP: return 25; /* 4 x u32 + buffer */
	case K_ENUM: case K_FLAGS: return ipcc_min_wire(t->def->underlying);
	case K_STRUCT: {
		ipcc_def *d = t->def;
		if (!d->min_wire_known) {
			size_t s = 0;
			for (size_t i = 0; i < d->nfields; i++)
				s += ipcc_min_wire(d->fields[i].type);
			d->min_wire = s;
			d->min_wire_known = true;
		}
		return d->min_wire;
	}
	default: return scalar_size(t->kind);
	}
}

static size_t sat_add(size_t a, size_t b)
{
	size_t r;
	return __builtin_add_overflow(a, b, &r) ? SIZE_MAX : r;
}

size_t ipcc_c_size(const ipcc_type *t)
{
	switch (t->kind) {
	case K_STRING: case K_BYTESTRING: return 8;
	case K_BYTES: case K_VECTOR: case K_MAP: return 16;
	case K_FILE: return 4;
	case K_BUFFER: return 24;
	case K_BITMAP: return 40;
	case K_OPTIONAL: return ipcc_opt_boxed(t) ? 16 : sat_add(8, ipcc_c_size(t->elem));
	case K_ENUM: return 4;
	case K_FLAGS: return ipcc_c_size(t->def->underlying);
	case K_EMPTY: return 0;
	case K_VARIANT: {
		size_t m = 0;
		for (size_t i = 0; i < t->nalts; i++) {
			size_t w = ipcc_c_size(t->alts[i]);
			m = w > m ? w : m;
		}
		return sat_add(8, m);
	}
	case K_STRUCT: {
		ipcc_def *d = t->def;
		if (!d->c_size_known) {
			size_t s = 0;
			for (size_t i = 0; i < d->nfields; i++)
				s = sat_add(s, sat_add(ipcc_c_size(d->fields[i].type), 8)); /* + padding */
			d->c_size = s;
			d->c_size_known = true;
		}
		return d->c_size;
	}
	default: return scalar_size(t->kind);
	}
}

/* A struct's answer is memoized; for recursive structs the checker settles
 * it first by a fixed point (ipcc_settle_resources), since a walk that
 * meets a struct in progress cannot know the answer yet. */
bool ipcc_has_resources(const ipcc_type *t)
{
	switch (t->kind) {
	case K_FILE: case K_BUFFER: case K_BITMAP: return true;
	case K_VECTOR: case K_OPTIONAL: return ipcc_has_resources(t->elem);
	case K_MAP: return ipcc_has_resources(t->elem) || ipcc_has_resources(t->value);
	case K_VARIANT:
		for (size_t i = 0; i < t->nalts; i++)
			if (ipcc_has_resources(t->alts[i]))
				return true;
		return false;
	case K_STRUCT: {
		ipcc_def *d = t->def;
		if (!d->has_resources) {
			d->has_resources = 1;
			for (size_t i = 0; i < d->nfields && d->has_resources == 1; i++)
				if (ipcc_has_resources(d->fields[i].type))
					d->has_resources = 2;
		}
		return d->has_resources == 2;
	}
	default: return false;
	}
}

bool ipcc_opt_boxed(const ipcc_type *t)
{
	return t->kind == K_OPTIONAL && t->elem->kind == K_STRUCT && t->elem->def->recursive;
}

bool ipcc_is_recursive(const ipcc_type *t)
{
	return t->kind == K_STRUCT && t->def->recursive;
}

const char *ipcc_mangle(ipcc_arena *a, const ipcc_type *t)
{
	switch (t->kind) {
	case K_BOOL: return "bool";
	case K_I8: return "i8";
	case K_I16: return "i16";
	case K_I32: return "i32";
	case K_I64: return "i64";
	case K_U8: return "u8";
	case K_U16: return "u16";
	case K_U32: return "u32";
	case K_U64: return "u64";
	case K_F32: return "f32";
	case K_F64: return "f64";
	case K_STRING: return "string";
	case K_BYTESTRING: return "bytestring";
	case K_BYTES: return "bytes";
	case K_FILE: return "file";
	case K_BUFFER: return "buffer";
	case K_BITMAP: return "bitmap";
	case K_VECTOR: return ipcc_printf(a, "vec_%s", ipcc_mangle(a, t->elem));
	case K_OPTIONAL: return ipcc_printf(a, "opt_%s", ipcc_mangle(a, t->elem));
	case K_MAP: return ipcc_printf(a, "map_%s_%s", ipcc_mangle(a, t->elem), ipcc_mangle(a, t->value));
	case K_VARIANT: {
		char *s = "var";
		for (size_t i = 0; i < t->nalts; i++)
			s = ipcc_printf(a, "%s_%s", s, ipcc_mangle(a, t->alts[i]));
		return s;
	}
	case K_EMPTY: return "empty";
	case K_POINTER: break;
	case K_STRUCT: case K_ENUM: case K_FLAGS: return t->def->mangle;
	case K_UNRESOLVED: break;
	}
	return "?";
}

const char *ipcc_ctype(ipcc_arena *a, const ipcc_type *t)
{
	switch (t->kind) {
	case K_BOOL: return "bool";
	case K_I8: return "int8_t";
	case K_I16: return "int16_t";
	case K_I32: return "int32_t";
	case K_I64: return "int64_t";
	case K_U8: return "uint8_t";
	case K_U16: return "uint16_t";
	case K_U32: return "uint32_t";
	case K_U64: return "uint64_t";
	case K_F32: return "float";
	case K_F64: return "double";
	case K_STRING: case K_BYTESTRING: return "const char *";
	case K_BYTES: return "hv_bytes";
	case K_FILE: return "int";
	case K_BUFFER: return "hv_buffer";
	case K_BITMAP: return "hv_bitmap";
	case K_VECTOR: case K_OPTIONAL: case K_MAP: case K_VARIANT: return ipcc_printf(a, "hv_%s", ipcc_mangle(a, t));
	case K_STRUCT: case K_ENUM: case K_FLAGS: return t->def->cname;
	case K_EMPTY: case K_POINTER: break;
	case K_UNRESOLVED: break;
	}
	return "?";
}

const char *ipcc_type_text(ipcc_arena *a, const ipcc_type *t)
{
	if (!t->nargs)
		return t->name;
	char *s = ipcc_printf(a, "%s<", t->name);
	for (size_t i = 0; i < t->nargs; i++)
		s = ipcc_printf(a, "%s%s%s", s, i ? ", " : "", ipcc_type_text(a, t->args[i]));
	return ipcc_printf(a, "%s>", s);
}
