#!/bin/bash
# tree.sh FILEOP — fileop against `cp -a` on a tree made here: nested
# directories, a sparse 1 GB file, symlinks, user.* xattrs, hard links,
# modes, ns times, odd names, and a file that cannot be read. The copy must
# equal cp -a's (compare.py), report the unreadable file and copy the rest.
# Then a move within the filesystem (a rename: same inode), the conflict
# policies, and delete. Runs as nobody when started as root (setpriv), so
# that the unreadable file really is, and once more as root for owners.
. "$(dirname "$0")/../lib/cli-test.sh" fileop-tree
fileop=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
compare() { python3 "$here/compare.py" "$@" >"$dir/cmp" 2>&1 || fail "$(cat "$dir/cmp")"; }
chmod 755 "$dir"
as=()
if [ "$(id -u)" = 0 ]; then
	as=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
fi
w=$dir/w
mkdir "$w"
[ ${#as[@]} -gt 0 ] && chown 65534:65534 "$w"
cd "$w" || exit 1

make_tree() {
	mkdir -p src/nested/a/b/c src/modes/private src/sticky "src/odd name é"
	echo deep >src/nested/a/b/c/deep.txt
	printf 'x%.0s' $(seq 1 5000) >src/nested/a/medium
	truncate -s 1G src/sparse
	printf 'head' | dd of=src/sparse conv=notrunc status=none
	printf 'middle' | dd of=src/sparse bs=1 seek=$((512 << 20)) conv=notrunc status=none
	: >src/empty
	echo exe >src/modes/x && chmod 755 src/modes/x
	echo ro >src/modes/ro && chmod 444 src/modes/ro
	echo priv >src/modes/private/p && chmod 600 src/modes/private/p && chmod 700 src/modes/private
	chmod 1777 src/sticky
	echo odd >"src/odd name é/file with spaces"
	ln -s ../nested/a/b/c/deep.txt src/modes/rel-link
	ln -s /nonexistent/target src/dangling
	ln -s nested src/dir-link
	echo linked >src/nested/h1 && ln src/nested/h1 src/nested/a/h2
	python3 - <<'PY'
import os
os.setxattr("src/nested/a/b/c/deep.txt", "user.colour", b"blue")
os.setxattr("src/nested/a/b/c/deep.txt", "user.bin", bytes(range(256)))
os.setxattr("src/nested/a", "user.dir", b"on a directory")
os.setxattr("src/sparse", "user.big", b"x" * 3000)
PY
	echo secret >src/secret && chmod 000 src/secret
	# Times with nanoseconds, directories last (their contents changed them).
	find src -depth -exec touch -h -d '2021-03-04 05:06:07.123456789' {} +
	touch -d '2019-01-01 00:00:00.987654321' src/nested/a/b/c/deep.txt
}
"${as[@]}" bash -c "$(declare -f make_tree); make_tree"

# The copy, next to cp -a's.
"${as[@]}" "$fileop" --json copy src dst >json 2>err
rc=$?
"${as[@]}" cp -a src ref 2>/dev/null
if [ ${#as[@]} -gt 0 ]; then
	[ $rc -eq 1 ] || fail "copy with an unreadable file: rc $rc, expected 1: $(cat err)"
	grep -q '"event":"error".*"path":"src/secret"' json || fail "the unreadable file is not reported: $(cat json)"
	grep -q '"event":"finished","status":-5,' json || fail "the summary does not say a file failed: $(tail -1 json)"
	[ -e dst/secret ] && fail "a copy of the unreadable file exists"
	compare dst ref --skip secret
else
	echo "not root and not dropping privileges: the unreadable-file case runs as $(id -un)"
	compare dst ref --skip secret
fi
ls -A dst | grep -q '^\.fileop-' && fail "a temporary file is left in dst"
blocks=$(stat -c %b dst/sparse)
[ "$blocks" -lt 1024 ] || fail "the 1 GB sparse file takes $blocks blocks: holes lost"
grep -q '"event":"progress".*"bytes_total":1073' json || fail "no progress with the byte total: $(head -3 json)"

# As root: owners kept (another user's file, another group).
if [ "$(id -u)" = 0 ]; then
	rm -rf rootsrc && cp -a src rootsrc && chmod 644 rootsrc/secret
	chown 1234:5678 rootsrc/nested/h1 && chown -h 4321:8765 rootsrc/dangling
	"$fileop" --json copy rootsrc rootdst >json 2>err || fail "copy as root: $(cat err)"
	cp -a rootsrc rootref
	compare rootdst rootref
fi

# Move within one filesystem: a rename, the same inode.
ino=$(stat -c %i dst/sparse)
"${as[@]}" "$fileop" move dst moved 2>err || fail "move: $(cat err)"
[ -e dst ] && fail "the source of a move is still there"
[ "$(stat -c %i moved/sparse 2>/dev/null)" = "$ino" ] || fail "a move within a filesystem is not a rename"
compare moved ref --skip secret

# Conflicts: skip keeps, overwrite replaces, keep-both adds "name (2)".
"${as[@]}" bash -c "mkdir c && echo old >c/deep.txt && echo old >c/other"
"${as[@]}" "$fileop" --conflict skip copy moved/nested/a/b/c/deep.txt c 2>err || fail "skip: $(cat err)"
[ "$(cat c/deep.txt)" = old ] || fail "--conflict skip replaced the file"
"${as[@]}" "$fileop" --conflict keep-both copy moved/nested/a/b/c/deep.txt c 2>err || fail "keep-both: $(cat err)"
[ "$(cat c/deep.txt)" = old ] && [ "$(cat "c/deep (2).txt")" = deep ] || fail "--conflict keep-both: $(ls c)"
"${as[@]}" "$fileop" --conflict overwrite copy moved/nested/a/b/c/deep.txt c/other 2>err || fail "overwrite: $(cat err)"
[ "$(cat c/other)" = deep ] || fail "--conflict overwrite kept the old file"

# Delete: everything, including what is read-only.
"${as[@]}" "$fileop" delete moved c 2>err || fail "delete: $(cat err)"
[ -e moved ] || [ -e c ] && fail "delete left $(ls -d moved c 2>/dev/null)"
cd / && finish
