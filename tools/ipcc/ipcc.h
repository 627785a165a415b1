/* ipcc.h — the IPC compiler's internal model: source locations and
 * diagnostics, the arena everything is allocated from, the lexer's tokens,
 * the parsed and resolved AST (files, types, endpoints, messages), and the
 * entry points of each stage (load → check → generate / dump).
 *
 * Nothing here is visible to generated code or to services. Every stage
 * reports problems as "file:line:col: message" through ipcc_error() and
 * keeps going where it can, so one run shows every semantic error.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* --- arena: the AST lives exactly as long as one compilation unit -------- */
typedef struct ipcc_arena_block ipcc_arena_block;
typedef struct ipcc_arena {
	ipcc_arena_block *head;
} ipcc_arena;

void *ipcc_alloc(ipcc_arena *a, size_t size); /* zeroed; aborts on OOM */
char *ipcc_strndup(ipcc_arena *a, const char *s, size_t n);
char *ipcc_strdup(ipcc_arena *a, const char *s);
char *ipcc_printf(ipcc_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ipcc_arena_free(ipcc_arena *a);
/* Append one element to a growing array (amortised doubling, arena-backed). */
void ipcc_push(ipcc_arena *a, void *arrayp, size_t *count, size_t *cap, const void *elem, size_t size);

/* --- diagnostics ----------------------------------------------------------- */
typedef struct ipcc_loc {
	const char *file; /* as given on the command line / in the import */
	unsigned line, col;
} ipcc_loc;

struct ipcc_unit;
void ipcc_error(struct ipcc_unit *u, ipcc_loc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- lexer ------------------------------------------------------------------ */
enum ipcc_tok_kind {
	TOK_EOF,
	TOK_IDENT,
	TOK_NUMBER,
	TOK_STRING, /* "..." (import paths) */
	TOK_LBRACE, TOK_RBRACE, TOK_LPAREN, TOK_RPAREN, TOK_LT, TOK_GT,
	TOK_LBRACKET, TOK_RBRACKET, TOK_COMMA, TOK_SEMI, TOK_COLON, TOK_COLONCOLON,
	TOK_EQ, TOK_ARROW /* => */, TOK_ONEWAY /* =| */,
	TOK_ERROR,
};

typedef struct ipcc_token {
	enum ipcc_tok_kind kind;
	const char *start; /* into the source text */
	size_t len;
	ipcc_loc loc;
	int64_t number; /* TOK_NUMBER */
	/* The comment lines right above the token (no blank line between, not
	 * trailing another token): its documentation, copied into the header. */
	const char *doc_start, *doc_end;
} ipcc_token;

typedef struct ipcc_lexer {
	const char *p, *end;
	const char *file;
	unsigned line, col;
	const char *error; /* TOK_ERROR's message */
	unsigned last_tok_line; /* where the previous token ended */
	const char *doc_start, *doc_end;
	unsigned doc_last_line;
} ipcc_lexer;

void ipcc_lexer_init(ipcc_lexer *lx, const char *file, const char *text, size_t len);
ipcc_token ipcc_lex(ipcc_lexer *lx);
const char *ipcc_tok_name(enum ipcc_tok_kind k);

/* --- types -------------------------------------------------------------- */
enum ipcc_kind {
	K_UNRESOLVED = 0,
	K_BOOL, K_I8, K_I16, K_I32, K_I64, K_U8, K_U16, K_U32, K_U64, K_F32, K_F64,
	K_STRING,     /* UTF-8 validated, const char * */
	K_BYTESTRING, /* any bytes but NUL, const char * */
	K_BYTES,      /* hv_bytes */
	K_FILE,       /* int fd */
	K_BUFFER,     /* hv_buffer */
	K_BITMAP,     /* hv_bitmap */
	K_VECTOR, K_OPTIONAL, K_MAP,
	K_STRUCT, K_ENUM,
	K_FLAGS,      /* enum whose values combine with | (an unsigned integer in C) */
	K_VARIANT,    /* Variant<A, B, ...>: u32 tag, then that alternative */
	K_EMPTY,      /* AK::Empty: a Variant alternative without a value */
	K_POINTER,    /* NonnullRefPtr<T> etc.: only while resolving (becomes T or Optional<T>) */
};

/* Most alternatives of one Variant. */
#define IPCC_MAX_VARIANT_ALTERNATIVES 255u

struct ipcc_def;

typedef struct ipcc_type {
	/* As written: a (possibly qualified) name and its type arguments
	 * (Vector: 1, HashMap: 2, Variant: any number). */
	const char *name;
	struct ipcc_type **args;
	size_t nargs, capargs;
	ipcc_loc loc;
	/* Filled by the checker. */
	enum ipcc_kind kind;
	struct ipcc_type *elem, *value; /* vector/optional element; map key = elem */
	struct ipcc_type **alts;        /* Variant alternatives */
	size_t nalts;
	struct ipcc_def *def;           /* struct / enum */
} ipcc_type;

enum ipcc_attr_flags {
	ATTR_UTF8 = 1u << 0,       /* [UTF8]: validate a ByteString as UTF-8 */
	ATTR_MAX_LENGTH = 1u << 1, /* [MaxLength=N]: bytes / elements bound */
	ATTR_TYPE = 1u << 2,       /* [File] / [Bitmap] / [Buffer] standing for the type */
};

typedef struct ipcc_field {
	const char *name;
	ipcc_type *type;
	unsigned attrs;
	uint64_t max_length;
	ipcc_loc loc;
} ipcc_field;

typedef struct ipcc_enumerator {
	const char *name;
	int64_t value;
	bool explicit_value; /* "= N" given (required in flags) */
	ipcc_loc loc;
} ipcc_enumerator;

enum ipcc_def_kind { DEF_STRUCT, DEF_ENUM, DEF_FLAGS, DEF_ALIAS };

typedef struct ipcc_def {
	enum ipcc_def_kind kind;
	const char *name;  /* as in the .ipc ("Point", "Gfx::IntRect") */
	const char *cname; /* C type name ("shapes_point", "hv_int_rect") */
	const char *mangle; /* name part of helpers / containers ("shapes_point", "int_rect") */
	const char *upper;  /* enum constant prefix ("SHAPES_COLOR") */
	struct ipcc_file *file; /* NULL for built-ins */
	ipcc_loc loc;
	const char *doc; /* comment above it, "" if none */
	bool builtin;
	ipcc_field *fields;
	size_t nfields, capfields;
	ipcc_enumerator *enumerators;
	size_t nenumerators, capenumerators;
	ipcc_type *underlying; /* enum / flags: integer type (default u32) */
	uint64_t flag_mask;    /* flags: OR of every value */
	ipcc_type *target;     /* alias: the type it names ("using A = T") */
	int resolving;         /* alias: 1 being resolved (a cycle check), 2 failed (reported once) */
	int visiting;          /* recursion check */
	bool recursive;        /* a struct reachable from itself (through Vector, HashMap or Optional) */
	/* Memoized facts (a struct used many times over is walked once). */
	int has_resources;     /* 0 unknown, 1 no, 2 yes */
	bool min_wire_known, c_size_known;
	size_t min_wire, c_size;
} ipcc_def;

typedef struct ipcc_message {
	const char *name;  /* as in the .ipc */
	const char *snake; /* C name part */
	const char *upper;
	unsigned id;      /* 1-based, declaration order */
	bool oneway;      /* =| */
	bool not_routed;  /* [NotRouted]: not addressed to a routed object */
	ipcc_field *params, *results;
	size_t nparams, capparams, nresults, capresults;
	ipcc_loc loc;
	const char *doc; /* comment above it, "" if none */
} ipcc_message;

/* A named error of an endpoint: "error NotFound [= N] ["message"]". On the
 * wire its code is -(IPCC_ERROR_BASE + number), below every errno. */
#define IPCC_ERROR_BASE 4096
#define IPCC_MAX_ERROR_NUMBER 65535
typedef struct ipcc_error_decl {
	const char *name;
	const char *upper;   /* C constant part ("NOT_FOUND") */
	int64_t number;      /* 1.., declaration order unless given */
	const char *message; /* the contract's text; the name if none given */
	const char *doc;
	ipcc_loc loc;
} ipcc_error_decl;

typedef struct ipcc_endpoint {
	const char *name;
	const char *prefix; /* snake_case(name) */
	const char *upper;
	uint32_t magic;
	const char *doc;
	ipcc_message *messages;
	size_t nmessages, capmessages;
	ipcc_error_decl *errors;
	size_t nerrors, caperrors;
	ipcc_loc loc;
	/* Ladybird's "routed by Type name": messages carry it as that parameter
	 * (checked: same type); [NotRouted] ones are answered on the
	 * connection. NULL if none. */
	ipcc_field *route;
} ipcc_endpoint;

typedef struct ipcc_file {
	const char *path;     /* as opened */
	const char *base;     /* "EchoServer" */
	const char *prefix;   /* "echo_server": the prefix of its types */
	bool is_types;        /* loaded by --types (or imported only by such a file) */
	char *text;           /* owned (malloc) */
	size_t len;
	struct ipcc_file **imports;
	size_t nimports, capimports;
	ipcc_def **defs;
	size_t ndefs, capdefs;
	ipcc_endpoint *endpoints;
	size_t nendpoints, capendpoints;
} ipcc_file;

typedef struct ipcc_unit {
	ipcc_arena arena;
	FILE *err;        /* diagnostics; NULL = silent (fuzzing) */
	unsigned errors;
	bool allow_imports; /* false when fuzzing: never open files */
	const char **include_dirs;
	size_t ninclude_dirs, capinclude_dirs;
	/* --types files: loaded after the root, as if it imported each. */
	const char **types_files;
	size_t ntypes_files;
	ipcc_file **files; /* files[0] is the root; the rest are imports */
	size_t nfiles, capfiles;
	char **realpaths;  /* parallel to files: identity for import cycles */
	ipcc_def **builtins;
	size_t nbuiltins, capbuiltins;
} ipcc_unit;

/* unit.c: load a root file (and its imports) from disk or from memory. */
void ipcc_unit_init(ipcc_unit *u, FILE *err);
void ipcc_unit_free(ipcc_unit *u);
int ipcc_load_file(ipcc_unit *u, const char *path);
int ipcc_load_text(ipcc_unit *u, const char *name, const char *text, size_t len);

/* parser.c */
int ipcc_parse(ipcc_unit *u, ipcc_file *f);
/* unit.c: called by the parser for `import "path"` (relative to f). */
ipcc_file *ipcc_import(ipcc_unit *u, ipcc_file *from, const char *path, ipcc_loc loc);

/* check.c: resolve types, check names; 0 or -1 (errors printed). */
int ipcc_check(ipcc_unit *u);

/* names.c */
char *ipcc_snake(ipcc_arena *a, const char *name);
char *ipcc_upper(ipcc_arena *a, const char *snake);
uint32_t ipcc_fnv1a(const char *s);
bool ipcc_is_c_reserved(const char *name);
bool ipcc_is_int_kind(enum ipcc_kind k);
/* The fewest payload bytes a value of the type takes on the wire. */
size_t ipcc_min_wire(const ipcc_type *t);
/* An upper estimate of sizeof() of the C type, saturating (never wraps). */
size_t ipcc_c_size(const ipcc_type *t);
bool ipcc_has_resources(const ipcc_type *t);
/* An Optional held by pointer: its element is a recursive struct. */
bool ipcc_opt_boxed(const ipcc_type *t);
/* A value of the type can contain itself (decoders bound the depth). */
bool ipcc_is_recursive(const ipcc_type *t);
const char *ipcc_ctype(ipcc_arena *a, const ipcc_type *t);
const char *ipcc_mangle(ipcc_arena *a, const ipcc_type *t);
/* The type as it reads in the .ipc ("Vector<Gfx::IntRect>"). */
const char *ipcc_type_text(ipcc_arena *a, const ipcc_type *t);

/* builtins.c: the SerenityOS/Haven type-name table. */
void ipcc_builtins_init(ipcc_unit *u);
/* Resolve a plain name (no arguments) to a scalar kind; K_UNRESOLVED if none. */
enum ipcc_kind ipcc_builtin_scalar(const char *name);
/* Container names: "Vector" → K_VECTOR etc.; K_UNRESOLVED if none. */
enum ipcc_kind ipcc_builtin_container(const char *name, unsigned *nargs);
ipcc_def *ipcc_builtin_def(ipcc_unit *u, const char *name);
bool ipcc_is_builtin_name(const char *name);

/* gen.c: C header + source for the root file, into memory. */
int ipcc_generate(ipcc_unit *u, char **header, size_t *header_len, char **source, size_t *source_len);

/* describe.c: the endpoint's contract as JSON (the format is at the top
 * of describe.c and in docs/ipc-wire-format.md). */
char *ipcc_describe(ipcc_arena *a, const ipcc_endpoint *ep);

/* dump.c */
void ipcc_dump(ipcc_unit *u, FILE *out);
