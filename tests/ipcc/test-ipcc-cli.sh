#!/bin/sh
# test-ipcc-cli.sh IPCC SRCDIR — the ipcc command line: --help, usage errors
# (exit 2), --check, --dump, depfiles, byte-for-byte stable output whatever
# the working directory, no output at all on failure, and generated C that
# compiles warning-free with gcc and clang under the project's flags.
set -u
ipcc=$1
src=$2
case $ipcc in /*) ;; *) ipcc=$PWD/$ipcc ;; esac
case $src in /*) ;; *) src=$PWD/$src ;; esac
fix=$src/tests/ipcc
tmp=$(mktemp -d /tmp/ipcc-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# --help / usage
"$ipcc" --help >"$tmp/help" 2>&1 || fail "--help exit status"
grep -q '^Usage: ipcc' "$tmp/help" || fail "--help text"
"$ipcc" --bogus >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] || fail "bad option must exit 2"
grep -q 'Usage:' "$tmp/err" || fail "bad option must print usage"
"$ipcc" >/dev/null 2>&1; [ $? -eq 2 ] || fail "no input must exit 2"
"$ipcc" -o "$tmp/nonexistent" "$fix/Shapes.ipc" >/dev/null 2>&1; [ $? -eq 2 ] || fail "missing output dir must exit 2"
"$ipcc" --check --dump "$fix/Shapes.ipc" >/dev/null 2>&1; [ $? -eq 2 ] || fail "--check with --dump must exit 2"
"$ipcc" --check "$fix/test-ipcc-cli.sh" >/dev/null 2>&1; [ $? -eq 1 ] || fail "non-.ipc input must exit 1"

# --check writes nothing
mkdir "$tmp/check" && cd "$tmp/check" || exit 1
types="--types $fix/LibTypes.ipc"
"$ipcc" --check $types "$fix/AllTypes.ipc" "$fix/Serenity.ipc" "$fix/Shapes.ipc" || fail "--check of good files"
[ -z "$(ls -A "$tmp/check")" ] || fail "--check wrote files"

# Stable output: same bytes from another directory and another path spelling.
mkdir "$tmp/a" "$tmp/b"
"$ipcc" -o "$tmp/a" --depfile "$tmp/a/AllTypes.d" $types "$fix/AllTypes.ipc" || fail "compile AllTypes"
(cd "$fix/bad" && "$ipcc" -o "$tmp/b" -t ../LibTypes.ipc ../AllTypes.ipc) || fail "compile AllTypes (relative)"
cmp -s "$tmp/a/AllTypes.ipc.h" "$tmp/b/AllTypes.ipc.h" || fail "header differs between runs"
cmp -s "$tmp/a/AllTypes.ipc.c" "$tmp/b/AllTypes.ipc.c" || fail "source differs between runs"
grep -q 'Shapes.ipc' "$tmp/a/AllTypes.d" || fail "depfile lists the import"
grep -q 'LibTypes.ipc' "$tmp/a/AllTypes.d" || fail "depfile lists the --types file"

# --types: required when the file uses its types; missing file; qualified C names.
"$ipcc" --check "$fix/AllTypes.ipc" 2>"$tmp/err"; [ $? -eq 1 ] || fail "AllTypes without --types must fail"
grep -q "unknown type 'HTTP::HeaderMap'" "$tmp/err" || fail "unknown qualified type: $(cat "$tmp/err")"
"$ipcc" --check --types "$tmp/none.ipc" "$fix/Shapes.ipc" 2>"$tmp/err"; [ $? -eq 1 ] || fail "missing --types file must fail"
grep -qF "$tmp/none.ipc:0:0: cannot read: No such file or directory" "$tmp/err" || fail "missing --types message: $(cat "$tmp/err")"
"$ipcc" --check --types NoSuchShippedTypes "$fix/Shapes.ipc" 2>"$tmp/err"; [ $? -eq 1 ] || fail "unknown bare --types name must fail"
grep -q "/haven/ipcc/types/NoSuchShippedTypes.ipc:0:0: cannot read" "$tmp/err" || fail "bare --types name is looked up where type files are installed: $(cat "$tmp/err")"
grep -q '^typedef struct lib_types_http_header_map {$' "$tmp/a/AllTypes.ipc.h" || fail "C name of HTTP::HeaderMap"
grep -q 'LIB_TYPES_CORE_PRIORITY_HIGH = 2,' "$tmp/a/AllTypes.ipc.h" || fail "enumerator of Core::Priority"
"$ipcc" --dump "$fix/LibTypes.ipc" | grep -q '^struct HTTP::HeaderMap -> lib_types_http_header_map ' || fail "--dump qualified struct"
grep -q "^$tmp/a/AllTypes.ipc.h:" "$tmp/a/AllTypes.d" || fail "depfile target"
[ -z "$(ls "$tmp/a" | grep tmp)" ] || fail "temporary files left behind"

# Comment lines above a message document it in the header; trailing ones do not.
grep -q '^ \* Fails with the code and message given. The comment lines above a$' "$tmp/a/AllTypes.ipc.h" || fail "doc comment"
grep -q 'here must not end it' "$tmp/a/AllTypes.ipc.h" || fail "doc comment, second line"
grep -q 'trailing comments stay' "$tmp/a/AllTypes.ipc.h" && fail "trailing comment copied"

# --dump: magic as in the generated endpoint, ids in declaration order.
"$ipcc" --dump $types "$fix/AllTypes.ipc" >"$tmp/dump" || fail "--dump"
magic=$(sed -n 's/.*\.magic = \(0x[0-9a-f]*\)u,.*/\1/p' "$tmp/a/AllTypes.ipc.c")
grep -q "^endpoint AllTypes magic $magic prefix all_types_ messages 16$" "$tmp/dump" || fail "--dump endpoint line ($magic)"
grep -q "^ *1 Scalars(bool b," "$tmp/dump" || fail "--dump first message"
grep -q '^  error NotFound = -4097 "no such thing"  -> ALL_TYPES_ERR_NOT_FOUND$' "$tmp/dump" || fail "--dump declared error"
grep -q '^  error Busy = -4103 "try again later"  -> ALL_TYPES_ERR_BUSY$' "$tmp/dump" || fail "--dump error with a number"
grep -q "^ *12 Empty() => ()  -> all_types_empty$" "$tmp/dump" || fail "--dump message 12"
grep -q "^ *13 Qualified(HTTP::HeaderMap headers, ::Core::Priority priority, AK::Duration timeout) => (" "$tmp/dump" || fail "--dump qualified types as written"

# Mechanical names: snake_case of SerenityOS spellings.
"$ipcc" --dump "$fix/Serenity.ipc" >"$tmp/sdump" || fail "--dump Serenity.ipc"
grep -q '^endpoint CanvasServer magic 0x[0-9a-f]* prefix canvas_server_ messages ' "$tmp/sdump" || fail "Serenity endpoint"
grep -q 'WM_FocusCanvas(i32 owner_id, i32 canvas_id) =|  -> canvas_server_wm_focus_canvas$' "$tmp/sdump" || fail "WM_ name"
grep -q 'OpenUrl(URL::URL location) => ()  -> canvas_server_open_url$' "$tmp/sdump" || fail "URL type and name"
grep -q ' -> canvas_server_get_text_setting$' "$tmp/sdump" || fail "snake_case name kept"

# A failed run leaves existing outputs alone and adds nothing.
mkdir "$tmp/keep"
echo "previous" >"$tmp/keep/many_errors.ipc.h"
"$ipcc" -o "$tmp/keep" "$fix/bad/many_errors.ipc" 2>/dev/null; [ $? -eq 1 ] || fail "bad input must exit 1"
[ "$(cat "$tmp/keep/many_errors.ipc.h")" = previous ] || fail "failed run touched an output"
[ "$(ls "$tmp/keep")" = many_errors.ipc.h ] || fail "failed run left files: $(ls "$tmp/keep")"

# Imports: beside the importing file, else in -I directories.
printf 'import "Shapes.ipc"\nendpoint Uses { Draw(Point p) => () }\n' >"$tmp/Uses.ipc"
"$ipcc" --check "$tmp/Uses.ipc" 2>"$tmp/err"; [ $? -eq 1 ] || fail "import without -I must fail"
grep -qF "$tmp/Uses.ipc:1:8: cannot find import 'Shapes.ipc' (searched: $tmp)" "$tmp/err" || fail "import error message: $(cat "$tmp/err")"
"$ipcc" --check -I "$fix" "$tmp/Uses.ipc" || fail "import through -I"

# Odd but valid input: a byte order mark and CRLF line ends; an endpoint
# without messages; an empty file.
printf '\357\273\277endpoint Crlf\r\n{\r\n    Ping(u32 n) =|\r\n}\r\n' >"$tmp/Crlf.ipc"
printf 'endpoint Nothing { }\n' >"$tmp/Nothing.ipc"
: >"$tmp/Blank.ipc"
"$ipcc" --dump "$tmp/Crlf.ipc" | grep -q '^ *1 Ping(u32 n) =|' || fail "BOM + CRLF input"
for f in Crlf Nothing Blank; do
	"$ipcc" -o "$tmp/a" "$tmp/$f.ipc" || fail "compile $f"
done

# The generated C compiles cleanly with the project's warnings, with gcc and clang.
"$ipcc" --dump "$fix/Routed.ipc" >"$tmp/rdump" || fail "--dump Routed.ipc"
grep -q '^endpoint RoutedServer magic 0x[0-9a-f]* prefix routed_server_ messages 4 routed by u64 page_id$' "$tmp/rdump" || fail "routed by in --dump"
grep -q '^ *1 \[NotRouted\] Hello(String who) => (u32 pages)' "$tmp/rdump" || fail "[NotRouted] in --dump"
grep -q '^ *2 LoadUrl(u64 page_id, URL::URL url) =|' "$tmp/rdump" || fail "routed message keeps its parameters as written"
for f in Shapes AllTypesClient Serenity LibTypes Routed; do
	"$ipcc" -o "$tmp/a" "$fix/$f.ipc" || fail "compile $f"
done
# The shipped SerenityOS types: the file itself, and a file written as
# SerenityOS's are that uses them (aliases keep the name as written).
stypes=$src/tools/ipcc/types/SerenityOS.ipc
"$ipcc" -o "$tmp/a" "$stypes" || fail "compile SerenityOS.ipc"
"$ipcc" -o "$tmp/a" --types "$stypes" "$fix/SerenityStyle.ipc" || fail "compile SerenityStyle"
"$ipcc" --dump --types "$stypes" "$fix/SerenityStyle.ipc" >"$tmp/ssdump" || fail "--dump SerenityStyle"
grep -q 'create_client(Audio::AudioQueue queue) =|' "$tmp/ssdump" || fail "alias keeps its name in --dump"
grep -q '^int service_style_create_client(hv_conn \*c, hv_buffer queue);$' "$tmp/a/SerenityStyle.ipc.h" || fail "Audio::AudioQueue is a Buffer in C"

grep -q '^int service_style_did_decode_frames(hv_conn \*c, hv_vec_opt_bitmap bitmaps, hv_opt_bitmap cursor);$' "$tmp/a/SerenityStyle.ipc.h" || fail "NonnullRefPtr<T> is T, RefPtr<T> is Optional<T>"
# A file's own types shadow those of --types (SerenityOS.ipc has Point and Color too).
"$ipcc" -o "$tmp/b" --types "$stypes" "$fix/Shapes.ipc" || fail "Shapes.ipc with the SerenityOS types"
cmp -s "$tmp/a/Shapes.ipc.h" "$tmp/b/Shapes.ipc.h" || fail "--types changed what Shapes.ipc generates"
"$ipcc" --dump "$stypes" | grep -q '^using IPC::Dictionary = HashMap<ByteString, ByteString>$' || fail "--dump shows aliases"
flags="-std=gnu17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wcast-qual -Wpointer-arith -Wundef"
for compiler in gcc clang; do
	command -v $compiler >/dev/null 2>&1 || continue
	for f in AllTypes Shapes AllTypesClient Serenity LibTypes Routed SerenityOS SerenityStyle Crlf Nothing Blank; do
		$compiler $flags -I"$src/lib/ipc/include" -I"$src/lib/core/include" -c "$tmp/a/$f.ipc.c" -o /dev/null ||
			fail "$compiler: $f.ipc.c does not compile cleanly"
	done
done

# ALL_TYPES_HANDLERS: the complete table compiles; one handler missing, or
# two swapped, does not.
cat >"$tmp/handlers.c" <<'EOC'
#include "Routed.ipc.h"
static int hello(hv_call *call, const routed_server_hello_req *q, routed_server_hello_rep *r) { return 0; }
static int load(hv_call *call, const routed_server_load_url_req *q) { return 0; }
static int title(hv_call *call, const routed_server_title_req *q, routed_server_title_rep *r) { return 0; }
static int cookie(hv_call *call, const routed_server_cookie_req *q, routed_server_cookie_rep *r) { return 0; }
#if CASE == 0
const routed_server_handlers h = ROUTED_SERVER_HANDLERS(hello, load, title, cookie);
#elif CASE == 1
const routed_server_handlers h = ROUTED_SERVER_HANDLERS(hello, load, title);
#else
const routed_server_handlers h = ROUTED_SERVER_HANDLERS(title, load, hello, cookie);
#endif
EOC
hflags="-std=gnu17 -D_GNU_SOURCE -Wall -Werror -I$tmp/a -I$src/lib/ipc/include -I$src/lib/core/include -c -o /dev/null"
gcc $hflags -DCASE=0 "$tmp/handlers.c" || fail "the complete handler table must compile"
gcc $hflags -DCASE=1 "$tmp/handlers.c" 2>/dev/null && fail "a handler table missing a handler must not compile"
gcc $hflags -DCASE=2 "$tmp/handlers.c" 2>/dev/null && fail "a handler table with swapped handlers must not compile"

# Every service's contract in the tree still compiles (guards against a
# compiler change breaking an existing .ipc).
for f in "$src"/services/*/*.ipc; do
	[ -e "$f" ] || continue
	"$ipcc" --check "$f" || fail "--check $f"
done

[ $fails -eq 0 ] && echo "ok: ipcc command line" || echo "$fails failure(s)"
exit $((fails != 0))
