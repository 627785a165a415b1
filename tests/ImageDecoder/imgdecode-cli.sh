#!/bin/bash
# imgdecode-cli.sh IMGDECODE — the imgdecode command line end to end: each
# run decodes in a fresh ImageDecoder process (spawned: no portal here).
# Outputs are checked against ImageMagick pixel for pixel.
set -uo pipefail
bin=$(realpath "$1")
dir=$(mktemp -d /tmp/imgdecode-cli.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
export HAVEN_PORTAL_DIR="$dir/no-portals" # never reach a running system's portal
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect CODE CMD...: run, check the exit status
expect() { local want=$1; shift; "$@" >out.txt 2>err.txt; local rc=$?; [ $rc -eq "$want" ] || fail "$* exited $rc, want $want: $(cat err.txt)"; }

convert -size 31x17 gradient:red-blue -alpha set -channel A -fx "0.3+0.7*i/w" +channel -depth 8 PNG32:in.png
for i in 0 1 2; do convert -size 20x10 xc:none -fill "rgb($((i * 100)),80,40)" -draw "rectangle $i,1 $((i + 8)),8" PNG32:f$i.png; done
convert -delay 20 f0.png f1.png f2.png -loop 0 anim.gif

expect 0 "$bin" --help; grep -q "Usage: imgdecode" out.txt || fail "--help prints usage"
expect 2 "$bin"
expect 2 "$bin" --bogus in.png
expect 2 "$bin" in.png out.jpg
expect 2 "$bin" --frame x in.png out.png
expect 2 "$bin" --info in.png extra
expect 2 "$bin" --mime image/nonsense --info in.png

expect 0 "$bin" in.png
[ ! -s out.txt ] || fail "IN alone prints nothing: $(cat out.txt)"
expect 0 "$bin" --info in.png
[ "$(cat out.txt)" = "png 31x17 1 frame loop 0" ] || fail "--info in.png: $(cat out.txt)"
expect 0 "$bin" --info anim.gif
[ "$(cat out.txt)" = "gif 20x10 3 frames loop 0 durations 200 200 200" ] || fail "--info anim.gif: $(cat out.txt)"

for ext in png pam; do
	expect 0 "$bin" in.png out.$ext
	ae=$(compare -metric AE in.png out.$ext null: 2>&1)
	[ "$ae" = 0 ] || fail "out.$ext differs from in.png in $ae pixels"
done
expect 0 "$bin" in.png out.ppm
ae=$(convert in.png -alpha off ppm:- | compare -metric AE - out.ppm null: 2>&1)
[ "$ae" = 0 ] || fail "out.ppm differs in $ae pixels"
expect 0 "$bin" --frame 2 anim.gif frame2.png
ae=$(convert anim.gif -coalesce -delete 0,1 png:- | compare -metric AE - frame2.png null: 2>&1)
[ "$ae" = 0 ] || fail "frame 2 differs in $ae pixels"
expect 1 "$bin" --frame 3 anim.gif f.png

# An interlaced PNG is not streamed (rows come in 7 passes): same pixels.
convert in.png -interlace PNG PNG32:inter.png
expect 0 "$bin" inter.png inter-out.png
ae=$(compare -metric AE in.png inter-out.png null: 2>&1)
[ "$ae" = 0 ] || fail "interlaced png differs in $ae pixels"

# JPEG through the service: its frame is streamed to the shared memory
# in strips of 16 rows (37 rows: a short last strip), CMYK converted per strip.
convert -seed 4 -size 203x37 plasma:fractal -quality 92 photo.jpg
convert photo.jpg -colorspace cmyk -quality 95 cmyk.jpg
for f in photo cmyk; do
	expect 0 "$bin" $f.jpg $f-out.png
	ae=$(convert $f.jpg -colorspace srgb png:- | compare -metric AE -fuzz 2% - $f-out.png null: 2>&1)
	[ "$ae" = 0 ] || fail "$f.jpg through the service differs from ImageMagick's decode in $ae pixels"
done

# --size: scaled down in the service, aspect kept, never up.
expect 0 "$bin" --size 10x10 in.png small.png
[ "$(identify -format %wx%h small.png)" = 10x5 ] || fail "--size 10x10: $(identify -format %wx%h small.png)"
ae=$(convert in.png -scale 10x10 png:- | compare -metric AE -fuzz 1% - small.png null: 2>&1)
[ "$ae" = 0 ] || fail "--size output differs from ImageMagick -scale in $ae pixels"
expect 0 "$bin" --size 100x100 --info in.png
[ "$(cat out.txt)" = "png 31x17 1 frame loop 0" ] || fail "--size never upscales: $(cat out.txt)"
expect 0 "$bin" --size 0x5 --info anim.gif
[ "$(cut -d' ' -f1-3 out.txt)" = "gif 10x5 3" ] || fail "--size 0x5 anim.gif: $(cat out.txt)"
expect 2 "$bin" --size 10 in.png
expect 2 "$bin" --size 0x0 in.png
expect 2 "$bin" --size 10x-1 in.png
expect 2 "$bin" --size 70000x10 in.png

# CUR: the hotspot of the entry chosen, in the returned frame's pixels.
# ImageMagick writes the ICO; CUR differs in its type field (2) and the
# hotspot where ICO keeps planes and bit count.
convert in.png -background none -gravity center -extent 32x32 -define icon:auto-resize=32,16 cur.ico
python3 - cur.ico cur.cur <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read())
d[2] = 2
for i in range(struct.unpack_from('<H', d, 4)[0]):
    w = d[6 + 16 * i] or 256
    struct.pack_into('<HH', d, 6 + 16 * i + 4, 13 * w // 32, 29 * w // 32)  # 13,29 at 32x32; 6,14 at 16x16
open(sys.argv[2], 'wb').write(d)
PY
expect 0 "$bin" --info cur.cur
[ "$(cat out.txt)" = "cur 32x32 1 frame loop 0 hotspot 13,29" ] || fail "--info cur.cur: $(cat out.txt)"
expect 0 "$bin" --info --size 16x16 cur.cur
[ "$(cat out.txt)" = "cur 16x16 1 frame loop 0 hotspot 6,14" ] || fail "--info --size 16x16 cur.cur (the 16x16 entry): $(cat out.txt)"
expect 0 "$bin" --info --size 20x20 cur.cur
[ "$(cat out.txt)" = "cur 20x20 1 frame loop 0 hotspot 8,18" ] || fail "--info --size 20x20 cur.cur (32x32 scaled): $(cat out.txt)"
expect 0 "$bin" --info cur.ico
[ "$(cat out.txt)" = "ico 32x32 1 frame loop 0" ] || fail "an ICO has no hotspot: $(cat out.txt)"

# Bad images: exit 1 and one line saying why.
printf 'not an image at all, just some text\n' > bad.png
expect 1 "$bin" bad.png
expect 1 "$bin" --info bad.png
[ "$(wc -l < err.txt)" -eq 1 ] && grep -q "unsupported format" err.txt || fail "bad image message: $(cat err.txt)"
head -c 100 in.png > cut.png
expect 1 "$bin" cut.png o.png
grep -q "truncated" err.txt || fail "truncated message: $(cat err.txt)"
[ ! -e o.png ] || fail "no output for a bad image"
expect 1 "$bin" --info missing.png
# A JPEG cut short, and one whose header claims 8000x8000 over the data
# of 64x64: no grey made up, an error (issue 12).
head -c 600 photo.jpg > cut.jpg
convert -size 64x64 gradient:red-blue -quality 90 small.jpg
python3 - small.jpg claims-8000.jpg <<'PY'
import struct, sys
d = bytearray(open(sys.argv[1], 'rb').read()); i = 2
while d[i + 1] not in (0xc0, 0xc1, 0xc2): i += 2 + struct.unpack_from('>H', d, i + 2)[0]
struct.pack_into('>HH', d, i + 5, 8000, 8000)  # SOFn: length, precision, height, width
open(sys.argv[2], 'wb').write(d)
PY
for f in cut claims-8000; do
	expect 1 "$bin" $f.jpg o.png
	grep -q "truncated" err.txt || fail "$f.jpg: $(cat err.txt)"
	[ ! -e o.png ] || fail "no output for $f.jpg"
done
# A TGA whose header the sniffer refuses decodes with a hint.
printf '\0\0\2\0\0\0\0\0\0\0\0\0\1\0\1\0\40\150\1\2\3\4' > odd.tga
expect 1 "$bin" --info odd.tga
expect 0 "$bin" --mime image/x-tga --info odd.tga

echo "imgdecode-cli: $fails failure(s)"
[ $fails -eq 0 ]
