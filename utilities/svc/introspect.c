/* introspect.c — `svc introspect` and `svc call`: any Haven service's
 * contract, asked of the service itself (the runtime's built-in
 * introspection request), and a call of any of its messages with arguments
 * given as JSON values, its reply printed as JSON — busctl's `introspect`
 * and `call` for Haven. The contract's JSON format is described at the top
 * of tools/ipcc/describe.c; values map to the wire as
 * docs/ipc-wire-format.md says, through lib/ipc's encoder and decoder. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include <haven/ipc.h>
#include <haven/util.h>

#include "SystemServer.ipc.h"
#include "cli.h"
#include "svc.h"

/* Deeper values than this are refused (a recursive type sent back by a
 * hostile service must not exhaust the stack). */
#define MAX_DEPTH 64

HV_DEFINE_CLEANUP(json_object *, json_object_put);

typedef struct codec {
	json_object *types; /* the contract's "types" */
	char why[256];	    /* the first error, for the person */
	bool bad;	    /* decoding failed (NULL is also JSON's null) */
	int depth;
	int fds[HV_IPC_MAX_FDS_PER_MESSAGE]; /* opened for File arguments */
	unsigned nfds;
} codec;

static bool fail(codec *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(codec *c, const char *fmt, ...)
{
	c->bad = true;
	if (!c->why[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->why, sizeof c->why, fmt, ap);
		va_end(ap);
	}
	return false;
}

static const char *type_text(json_object *t, char *buf, size_t size);

/* --- the contract ----------------------------------------------------- */

/* "Vector" / "Optional" / "HashMap" / "Variant" and its argument(s), or
 * NULL for a name. */
static const char *container(json_object *t, json_object **arg)
{
	if (!json_object_is_type(t, json_type_object))
		return NULL;
	json_object_object_foreach(t, k, v)
	{
		*arg = v;
		return k;
	}
	return NULL;
}

static const char *type_text(json_object *t, char *buf, size_t size)
{
	json_object *arg;
	const char *k = container(t, &arg);
	if (!k) {
		snprintf(buf, size, "%s", json_object_get_string(t));
		return buf;
	}
	size_t n = (size_t)snprintf(buf, size, "%s<", k);
	if (json_object_is_type(arg, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(arg) && n < size; i++) {
			char sub[256];
			n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
					      type_text(json_object_array_get_idx(arg, i), sub, sizeof sub));
		}
	} else if (n < size) {
		char sub[256];
		n += (size_t)snprintf(buf + n, size - n, "%s", type_text(arg, sub, sizeof sub));
	}
	if (n < size)
		snprintf(buf + n, size - n, ">");
	return buf;
}

/* Parameters ("T a, U b") or a struct's fields ("T a; U b;"). */
static void print_fields(json_object *fields, const char *sep, const char *end)
{
	for (size_t i = 0; i < json_object_array_length(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i), *v;
		char buf[512];
		printf("%s", i ? sep : "");
		if (json_object_object_get_ex(f, "utf8", &v))
			printf("[UTF8] ");
		if (json_object_object_get_ex(f, "max_length", &v))
			printf("[MaxLength=%s] ", json_object_get_string(v));
		json_object_object_get_ex(f, "type", &v);
		printf("%s %s%s", type_text(v, buf, sizeof buf),
		       json_object_get_string(json_object_object_get(f, "name")), end);
	}
}

/* A doc comment as the .ipc has it, each line indented. */
static void print_doc(json_object *doc, const char *indent)
{
	const char *s = doc ? json_object_get_string(doc) : NULL;
	while (s && *s) {
		const char *nl = strchr(s, '\n');
		int n = nl ? (int)(nl - s) : (int)strlen(s);
		printf("%s//%s%.*s\n", indent, n ? " " : "", n, s);
		s += n + (nl != NULL);
	}
}

/* The contract as it reads in a .ipc file. */
static void print_contract(json_object *d)
{
	json_object *v;
	printf("endpoint %s  // magic 0x%08" PRIx32 "\n{\n",
	       json_object_get_string(json_object_object_get(d, "endpoint")),
	       (uint32_t)json_object_get_int64(json_object_object_get(d, "magic")));
	if (json_object_object_get_ex(d, "errors", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *e = json_object_array_get_idx(v, i);
			printf("    error %s  // %s, \"%s\"\n",
			       json_object_get_string(json_object_object_get(e, "name")),
			       json_object_get_string(json_object_object_get(e, "code")),
			       json_object_get_string(json_object_object_get(e, "message")));
		}
	if (json_object_object_get_ex(d, "messages", &v))
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			json_object *m = json_object_array_get_idx(v, i), *r;
			print_doc(json_object_object_get(m, "doc"), "    ");
			printf("    %s(", json_object_get_string(json_object_object_get(m, "name")));
			print_fields(json_object_object_get(m, "params"), ", ", "");
			if (json_object_object_get_ex(m, "results", &r)) {
				printf(") => (");
				print_fields(r, ", ", "");
				printf(")\n");
			} else {
				printf(") =|\n");
			}
		}
	printf("}\n");
	if (!json_object_object_get_ex(d, "types", &v))
		return;
	json_object_object_foreach(v, name, t)
	{
		json_object *fields, *base;
		if (json_object_object_get_ex(t, "struct", &fields)) {
			printf("struct %s { ", name);
			print_fields(fields, " ", ";");
			printf(" }\n");
			continue;
		}
		bool flags = json_object_object_get_ex(t, "flags", &base);
		if (!flags)
			json_object_object_get_ex(t, "enum", &base);
		printf("%s %s : %s { ", flags ? "flags" : "enum", name, json_object_get_string(base));
		json_object_object_foreach(json_object_object_get(t, "values"), k, n)
			printf("%s = %s; ", k, json_object_get_string(n));
		printf("}\n");
	}
}

/* --- JSON → wire -------------------------------------------------------- */

static bool enc_value(codec *c, hv_enc *e, json_object *t, json_object *v);

static bool enc_int(codec *c, hv_enc *e, const char *kind, json_object *v)
{
	if (!json_object_is_type(v, json_type_int))
		return fail(c, "%s expected, got %s", kind, json_object_to_json_string(v));
	bool is_signed = kind[0] == 'i';
	int bits = atoi(kind + 1);
	errno = 0;
	int64_t s = json_object_get_int64(v);
	uint64_t u = json_object_get_uint64(v);
	if (is_signed) {
		int64_t lo = bits == 64 ? INT64_MIN : -(INT64_C(1) << (bits - 1));
		int64_t hi = bits == 64 ? INT64_MAX : (INT64_C(1) << (bits - 1)) - 1;
		if (errno || s < lo || s > hi)
			return fail(c, "%s out of range: %s", kind, json_object_to_json_string(v));
	} else {
		uint64_t hi = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
		if (errno || s < 0 || u > hi)
			return fail(c, "%s out of range: %s", kind, json_object_to_json_string(v));
	}
	switch (bits) {
	case 8: is_signed ? hv_enc_i8(e, (int8_t)s) : hv_enc_u8(e, (uint8_t)u); break;
	case 16: is_signed ? hv_enc_i16(e, (int16_t)s) : hv_enc_u16(e, (uint16_t)u); break;
	case 32: is_signed ? hv_enc_i32(e, (int32_t)s) : hv_enc_u32(e, (uint32_t)u); break;
	default: is_signed ? hv_enc_i64(e, s) : hv_enc_u64(e, u); break;
	}
	return true;
}

static bool enc_scalar(codec *c, hv_enc *e, const char *k, json_object *v)
{
	if (!strcmp(k, "bool")) {
		if (!json_object_is_type(v, json_type_boolean))
			return fail(c, "true or false expected, got %s", json_object_to_json_string(v));
		hv_enc_bool(e, json_object_get_boolean(v));
	} else if ((k[0] == 'i' || k[0] == 'u') && k[1] >= '1' && k[1] <= '9') {
		return enc_int(c, e, k, v);
	} else if (!strcmp(k, "f32") || !strcmp(k, "f64")) {
		if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
			return fail(c, "a number expected, got %s", json_object_to_json_string(v));
		k[1] == '3' ? hv_enc_f32(e, (float)json_object_get_double(v))
			    : hv_enc_f64(e, json_object_get_double(v));
	} else if (!strcmp(k, "String") || !strcmp(k, "ByteString") || !strcmp(k, "bytes")) {
		if (!json_object_is_type(v, json_type_string))
			return fail(c, "a string expected for %s, got %s", k, json_object_to_json_string(v));
		const char *s = json_object_get_string(v);
		if (k[0] == 'S')
			hv_enc_string(e, s);
		else if (k[0] == 'B')
			hv_enc_bytestring(e, s);
		else
			hv_enc_bytes(e, s, (size_t)json_object_get_string_len(v));
	} else if (!strcmp(k, "File")) {
		/* A path: the file is opened here, read-only, and its fd sent. */
		if (!json_object_is_type(v, json_type_string))
			return fail(c, "a File is given as the path of a file to open");
		if (c->nfds == HV_ARRAY_SIZE(c->fds))
			return fail(c, "too many files");
		int fd = open(json_object_get_string(v), O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return fail(c, "%s: %s", json_object_get_string(v), strerror(errno));
		c->fds[c->nfds++] = fd;
		hv_enc_fd(e, fd);
	} else {
		return fail(c, "a %s cannot be given on the command line", k);
	}
	return true;
}

static bool enc_enum(codec *c, hv_enc *e, const char *name, json_object *def, json_object *v)
{
	json_object *base, *values = json_object_object_get(def, "values"), *n;
	bool flags = json_object_object_get_ex(def, "flags", &base);
	if (!flags)
		json_object_object_get_ex(def, "enum", &base);
	if (json_object_is_type(v, json_type_string)) {
		if (!json_object_object_get_ex(values, json_object_get_string(v), &n))
			return fail(c, "%s has no value %s", name, json_object_get_string(v));
		return enc_int(c, e, json_object_get_string(base), n);
	}
	if (flags && json_object_is_type(v, json_type_array)) {
		uint64_t sum = 0;
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			const char *f = json_object_get_string(json_object_array_get_idx(v, i));
			if (!f || !json_object_object_get_ex(values, f, &n))
				return fail(c, "%s has no flag %s", name, f ? f : "(not a name)");
			sum |= json_object_get_uint64(n);
		}
		_hv_cleanup_(json_object_putp) json_object *num = json_object_new_uint64(sum);
		return enc_int(c, e, json_object_get_string(base), num);
	}
	return enc_int(c, e, json_object_get_string(base), v); /* a number as such */
}

static bool enc_struct(codec *c, hv_enc *e, const char *name, json_object *fields, json_object *v)
{
	if (!json_object_is_type(v, json_type_object))
		return fail(c, "an object expected for struct %s", name);
	for (size_t i = 0; i < json_object_array_length(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i), *fv;
		const char *fname = json_object_get_string(json_object_object_get(f, "name"));
		if (!json_object_object_get_ex(v, fname, &fv))
			return fail(c, "%s needs field \"%s\"", name, fname);
		if (!enc_value(c, e, json_object_object_get(f, "type"), fv))
			return false;
	}
	return true;
}

static bool enc_container(codec *c, hv_enc *e, const char *k, json_object *arg, json_object *v)
{
	if (!strcmp(k, "Optional")) {
		hv_enc_present(e, v != NULL);
		return !v || enc_value(c, e, arg, v);
	}
	if (!strcmp(k, "Vector")) {
		if (!json_object_is_type(v, json_type_array))
			return fail(c, "an array expected, got %s", json_object_to_json_string(v));
		hv_enc_count(e, json_object_array_length(v));
		for (size_t i = 0; i < json_object_array_length(v); i++)
			if (!enc_value(c, e, arg, json_object_array_get_idx(v, i)))
				return false;
		return true;
	}
	if (!strcmp(k, "HashMap")) {
		/* Keys are strings in JSON: a non-string key type is parsed from it. */
		if (!json_object_is_type(v, json_type_object))
			return fail(c, "an object expected for a HashMap");
		json_object *kt = json_object_array_get_idx(arg, 0), *vt = json_object_array_get_idx(arg, 1);
		bool string_key = json_object_is_type(kt, json_type_string) &&
				  strstr("String ByteString bytes", json_object_get_string(kt));
		hv_enc_count(e, (size_t)json_object_object_length(v));
		json_object_object_foreach(v, key, val)
		{
			_hv_cleanup_(json_object_putp) json_object *kv =
				string_key ? json_object_new_string(key) : json_tokener_parse(key);
			if (!kv)
				return fail(c, "bad key \"%s\"", key);
			if (!enc_value(c, e, kt, kv) || !enc_value(c, e, vt, val))
				return false;
		}
		return true;
	}
	/* Variant: {"index": N, "value": V} (no value for an Empty alternative). */
	json_object *idx, *val = NULL;
	if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "index", &idx))
		return fail(c, "a Variant is given as {\"index\": N, \"value\": V}");
	int64_t i = json_object_get_int64(idx);
	if (i < 0 || (size_t)i >= json_object_array_length(arg))
		return fail(c, "Variant index %" PRId64 " out of range", i);
	hv_enc_u32(e, (uint32_t)i);
	json_object *alt = json_object_array_get_idx(arg, (size_t)i);
	if (json_object_is_type(alt, json_type_string) && !strcmp(json_object_get_string(alt), "Empty"))
		return true;
	json_object_object_get_ex(v, "value", &val);
	return enc_value(c, e, alt, val);
}

static bool enc_value(codec *c, hv_enc *e, json_object *t, json_object *v)
{
	json_object *arg, *def, *fields;
	if (++c->depth > MAX_DEPTH)
		return fail(c, "value nested too deeply");
	bool ok;
	const char *k = container(t, &arg);
	if (k)
		ok = enc_container(c, e, k, arg, v);
	else if (!v)
		ok = fail(c, "null given for a %s", json_object_get_string(t));
	else if (!json_object_object_get_ex(c->types, json_object_get_string(t), &def))
		ok = enc_scalar(c, e, json_object_get_string(t), v);
	else if (json_object_object_get_ex(def, "struct", &fields))
		ok = enc_struct(c, e, json_object_get_string(t), fields, v);
	else
		ok = enc_enum(c, e, json_object_get_string(t), def, v);
	c->depth--;
	return ok;
}

/* --- wire → JSON -------------------------------------------------------- */

static json_object *dec_value(codec *c, hv_dec *d, json_object *t);

static json_object *dec_scalar(codec *c, hv_dec *d, const char *k)
{
	union {
		bool b;
		int8_t i8;
		int16_t i16;
		int32_t i32;
		int64_t i64;
		uint8_t u8;
		uint16_t u16;
		uint32_t u32;
		uint64_t u64;
		float f32;
		double f64;
		const char *s;
		hv_bytes bytes;
		int fd;
		hv_buffer buf;
		hv_bitmap bmp;
	} x;
#define SCALAR(name, fn, make)                                                                     \
	if (!strcmp(k, name))                                                                      \
		return fn(d, &x.fn##_v) ? make : (c->bad = true, NULL);
#define hv_dec_bool_v b
#define hv_dec_i8_v i8
#define hv_dec_i16_v i16
#define hv_dec_i32_v i32
#define hv_dec_i64_v i64
#define hv_dec_u8_v u8
#define hv_dec_u16_v u16
#define hv_dec_u32_v u32
#define hv_dec_u64_v u64
#define hv_dec_f32_v f32
#define hv_dec_f64_v f64
#define hv_dec_string_v s
#define hv_dec_bytestring_v s
#define hv_dec_bytes_v bytes
#define hv_dec_fd_v fd
#define hv_dec_buffer_v buf
#define hv_dec_bitmap_v bmp
	SCALAR("bool", hv_dec_bool, json_object_new_boolean(x.b))
	SCALAR("i8", hv_dec_i8, json_object_new_int64(x.i8))
	SCALAR("i16", hv_dec_i16, json_object_new_int64(x.i16))
	SCALAR("i32", hv_dec_i32, json_object_new_int64(x.i32))
	SCALAR("i64", hv_dec_i64, json_object_new_int64(x.i64))
	SCALAR("u8", hv_dec_u8, json_object_new_uint64(x.u8))
	SCALAR("u16", hv_dec_u16, json_object_new_uint64(x.u16))
	SCALAR("u32", hv_dec_u32, json_object_new_uint64(x.u32))
	SCALAR("u64", hv_dec_u64, json_object_new_uint64(x.u64))
	SCALAR("f32", hv_dec_f32, json_object_new_double(x.f32))
	SCALAR("f64", hv_dec_f64, json_object_new_double(x.f64))
	SCALAR("String", hv_dec_string, json_object_new_string(x.s))
	SCALAR("ByteString", hv_dec_bytestring, json_object_new_string(x.s))
	SCALAR("bytes", hv_dec_bytes,
	       json_object_new_string_len((const char *)x.bytes.data, (int)x.bytes.len))
	/* What cannot be printed is described. */
	SCALAR("File", hv_dec_fd, json_object_new_string("(a file descriptor)"))
	SCALAR("Buffer", hv_dec_buffer, json_object_new_uint64(x.buf.size))
	SCALAR("Bitmap", hv_dec_bitmap, json_object_new_string("(a bitmap)"))
	if (!strcmp(k, "Empty"))
		return NULL; /* JSON's null */
	fail(c, "unknown type %s in the contract", k);
	return NULL;
}

static json_object *dec_container(codec *c, hv_dec *d, const char *k, json_object *arg)
{
	size_t n;
	if (!strcmp(k, "Optional")) {
		bool present;
		if (!hv_dec_present(d, &present))
			return c->bad = true, NULL;
		return present ? dec_value(c, d, arg) : NULL;
	}
	if (!strcmp(k, "Variant")) {
		uint32_t i;
		if (!hv_dec_u32(d, &i) || i >= json_object_array_length(arg))
			return fail(c, "bad Variant tag in the reply"), NULL;
		_hv_cleanup_(json_object_putp) json_object *o = json_object_new_object();
		json_object *v = dec_value(c, d, json_object_array_get_idx(arg, i));
		if (!o || c->bad)
			return json_object_put(v), NULL;
		json_object_object_add(o, "index", json_object_new_uint64(i));
		json_object_object_add(o, "value", v);
		return HV_TAKE_PTR(o);
	}
	if (!hv_dec_count(d, 0, &n))
		return c->bad = true, NULL;
	bool map = !strcmp(k, "HashMap");
	_hv_cleanup_(json_object_putp) json_object *o = map ? json_object_new_object()
							  : json_object_new_array_ext((int)n);
	for (size_t i = 0; o && i < n; i++) {
		if (!map) {
			json_object *v = dec_value(c, d, arg);
			if (c->bad)
				return NULL;
			json_object_array_add(o, v);
			continue;
		}
		_hv_cleanup_(json_object_putp) json_object *key =
			dec_value(c, d, json_object_array_get_idx(arg, 0));
		json_object *v = c->bad ? NULL : dec_value(c, d, json_object_array_get_idx(arg, 1));
		if (c->bad)
			return json_object_put(v), NULL;
		json_object_object_add(o, key ? json_object_get_string(key) : "null", v);
	}
	return HV_TAKE_PTR(o);
}

static json_object *dec_fields(codec *c, hv_dec *d, json_object *fields)
{
	_hv_cleanup_(json_object_putp) json_object *o = json_object_new_object();
	for (size_t i = 0; o && i < json_object_array_length(fields); i++) {
		json_object *f = json_object_array_get_idx(fields, i);
		json_object *v = dec_value(c, d, json_object_object_get(f, "type"));
		if (c->bad)
			return NULL;
		json_object_object_add(o, json_object_get_string(json_object_object_get(f, "name")), v);
	}
	return HV_TAKE_PTR(o);
}

static json_object *dec_enum(codec *c, hv_dec *d, json_object *def)
{
	json_object *base;
	bool flags = json_object_object_get_ex(def, "flags", &base);
	if (!flags)
		json_object_object_get_ex(def, "enum", &base);
	_hv_cleanup_(json_object_putp) json_object *n = dec_value(c, d, base);
	if (c->bad)
		return NULL;
	uint64_t x = json_object_get_uint64(n);
	int64_t sx = json_object_get_int64(n);
	_hv_cleanup_(json_object_putp) json_object *set = flags ? json_object_new_array() : NULL;
	json_object_object_foreach(json_object_object_get(def, "values"), name, v)
	{
		if (!flags && json_object_get_int64(v) == sx)
			return json_object_new_string(name);
		if (flags && (x & json_object_get_uint64(v)) && set)
			json_object_array_add(set, json_object_new_string(name));
	}
	return flags ? HV_TAKE_PTR(set) : HV_TAKE_PTR(n); /* an unnamed value as a number */
}

static json_object *dec_value(codec *c, hv_dec *d, json_object *t)
{
	json_object *arg, *def, *fields, *v;
	if (++c->depth > MAX_DEPTH)
		return fail(c, "reply nested too deeply"), NULL;
	const char *k = container(t, &arg);
	if (k)
		v = dec_container(c, d, k, arg);
	else if (!json_object_object_get_ex(c->types, json_object_get_string(t), &def))
		v = dec_scalar(c, d, json_object_get_string(t));
	else if (json_object_object_get_ex(def, "struct", &fields))
		v = dec_fields(c, d, fields);
	else
		v = dec_enum(c, d, def);
	c->depth--;
	return v;
}

/* --- the commands -------------------------------------------------------- */

/* The service's socket: a path as given, else the first socket the manager
 * says the service has. */
static int target_socket(const char *target, hv_conn *(*manager)(void *), void *ud, char *path,
			 size_t size)
{
	if (strchr(target, '/')) {
		snprintf(path, size, "%s", target);
		return 0;
	}
	hv_conn *m = manager(ud);
	if (!m)
		return -ENOTCONN;
	hv_vec_string v;
	int r = system_server_sockets(m, target, &v);
	if (r < 0)
		return cli_fail(m, r, target), -ENOENT;
	if (!v.count) {
		fprintf(stderr, "svc: %s has no socket to introspect\n", target);
		return -ENOENT;
	}
	snprintf(path, size, "%s", v.items[0]);
	return 0;
}

/* Connect and ask for every contract the service serves there. */
static int contracts(const char *target, hv_conn *(*manager)(void *), void *ud, hv_conn **conn,
		     hv_strv *out)
{
	char path[108];
	if (target_socket(target, manager, ud, path, sizeof path) < 0)
		return -ENOENT;
	int r = cli_connect(NULL, NULL, path, conn);
	if (r < 0)
		return r;
	r = hv_conn_introspect(*conn, NULL, cli_timeout_ms(), out);
	if (r < 0)
		return cli_fail(*conn, r, "introspect"), r;
	if (!out->n) {
		fprintf(stderr, "svc: %s describes no endpoint\n", target);
		return -ENOENT;
	}
	return 0;
}

static void conn_closep(hv_conn **c)
{
	if (*c)
		hv_conn_close(*c);
}

int svc_introspect(const char *target, bool json, hv_conn *(*manager)(void *), void *ud)
{
	_hv_cleanup_(conn_closep) hv_conn *conn = NULL;
	_hv_cleanup_(hv_strv_clear) hv_strv list = {0};
	if (contracts(target, manager, ud, &conn, &list) < 0)
		return 1;
	for (size_t i = 0; i < list.n; i++) {
		if (json) {
			printf("%s\n", list.v[i]);
			continue;
		}
		_hv_cleanup_(json_object_putp) json_object *d = json_tokener_parse(list.v[i]);
		if (!d) {
			fprintf(stderr, "svc: %s sent a contract that is not JSON\n", target);
			return 1;
		}
		print_contract(d);
	}
	return 0;
}

/* The message named `name` in any of the contracts, and its contract. */
static json_object *find_message(hv_strv *list, const char *name, json_object **contract)
{
	for (size_t i = 0; i < list->n; i++) {
		json_object *d = json_tokener_parse(list->v[i]), *msgs;
		if (d && json_object_object_get_ex(d, "messages", &msgs))
			for (size_t k = 0; k < json_object_array_length(msgs); k++) {
				json_object *m = json_object_array_get_idx(msgs, k);
				if (!strcmp(json_object_get_string(json_object_object_get(m, "name")), name)) {
					*contract = d;
					return m;
				}
			}
		json_object_put(d);
	}
	return NULL;
}

/* One argument: JSON, or for a String, ByteString or bytes parameter any word that is not JSON
 * (svc call ConfigServer read_string Clipboard limits max). */
static json_object *argument(json_object *type, const char *arg)
{
	json_object *v = json_tokener_parse(arg);
	if (v || !json_object_is_type(type, json_type_string))
		return v;
	const char *k = json_object_get_string(type);
	bool text = !strcmp(k, "String") || !strcmp(k, "ByteString") || !strcmp(k, "bytes");
	return text ? json_object_new_string(arg) : NULL;
}

static int encode_call(codec *cx, hv_enc *e, json_object *params, int argc, char **argv,
		       const char *msg)
{
	size_t n = json_object_array_length(params);
	if ((size_t)argc != n) {
		fprintf(stderr, "svc: %s takes %zu argument%s, %d given (svc introspect shows them)\n",
			msg, n, n == 1 ? "" : "s", argc);
		return 2;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(params, i);
		json_object *type = json_object_object_get(p, "type");
		_hv_cleanup_(json_object_putp) json_object *v = argument(type, argv[i]);
		if (!v && strcmp(argv[i], "null")) {
			fprintf(stderr, "svc: %s: argument %zu (%s) is not JSON: %s\n", msg, i + 1,
				json_object_get_string(json_object_object_get(p, "name")), argv[i]);
			return 2;
		}
		if (!enc_value(cx, e, type, v)) {
			fprintf(stderr, "svc: %s: argument %zu (%s): %s\n", msg, i + 1,
				json_object_get_string(json_object_object_get(p, "name")), cx->why);
			return 2;
		}
	}
	return 0;
}

int svc_call(const char *target, const char *msg, int argc, char **argv, hv_conn *(*manager)(void *),
	     void *ud)
{
	_hv_cleanup_(conn_closep) hv_conn *conn = NULL;
	_hv_cleanup_(hv_strv_clear) hv_strv list = {0};
	if (contracts(target, manager, ud, &conn, &list) < 0)
		return 1;
	_hv_cleanup_(json_object_putp) json_object *d = NULL;
	json_object *m = find_message(&list, msg, &d);
	if (!m) {
		fprintf(stderr, "svc: %s has no message %s (svc introspect %s lists them)\n", target, msg,
			target);
		return 2;
	}
	/* An endpoint built from the contract: enough to encode and frame. */
	hv_endpoint ep = {
		.name = json_object_get_string(json_object_object_get(d, "endpoint")),
		.magic = (uint32_t)json_object_get_int64(json_object_object_get(d, "magic")),
	};
	codec cx = {.types = json_object_object_get(d, "types")};
	hv_enc e;
	hv_enc_init(&e, &ep, (uint16_t)json_object_get_int(json_object_object_get(m, "id")),
		    json_object_object_get(m, "results") ? HV_MSG_REQUEST : HV_MSG_ONEWAY);
	int rc = encode_call(&cx, &e, json_object_object_get(m, "params"), argc, argv, msg);
	if (rc) {
		hv_enc_release(&e);
		for (unsigned i = 0; i < cx.nfds; i++)
			close(cx.fds[i]);
		return rc;
	}
	int r;
	hv_msg *reply = NULL;
	json_object *results;
	if (json_object_object_get_ex(m, "results", &results))
		r = hv_conn_call(conn, &e, cli_timeout_ms(), &reply);
	else if ((r = hv_conn_send(conn, &e)) >= 0)
		r = hv_conn_flush(conn);
	for (unsigned i = 0; i < cx.nfds; i++)
		close(cx.fds[i]);
	if (r < 0)
		return cli_fail(conn, r, msg);
	if (!reply)
		return 0;
	hv_dec dec;
	hv_dec_init(&dec, reply);
	_hv_cleanup_(json_object_putp) json_object *out = dec_fields(&cx, &dec, results);
	if (cx.bad || !out || hv_dec_finish(&dec) < 0) {
		fprintf(stderr, "svc: %s: the reply does not match the contract%s%s\n", msg,
			cx.why[0] ? ": " : "", cx.why);
		return 1;
	}
	printf("%s\n", json_object_to_json_string_ext(out, JSON_C_TO_STRING_SPACED |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	return 0;
}
