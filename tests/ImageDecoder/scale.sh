#!/bin/bash
# scale.sh IMGCHECK — decoding to an ideal size: the output size (aspect
# kept, never scaled up, a 0 side is free) and the pixels against
# ImageMagick's -scale (exact area averaging, alpha-weighted). Tolerance 1
# (rounding) for lossless sources; 8 for JPEG, which libjpeg scales in the
# IDCT (n/8) before the area average, so it differs from averaging a full
# decode a little.
set -uo pipefail
bin=$(realpath "$1")
dir=$(mktemp -d /tmp/imagedecoder-scale.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

convert -seed 3 -size 97x61 plasma:fractal -alpha set -channel A -fx "0.2+0.8*i/w" +channel -depth 8 PNG32:alpha.png
# Half transparent: opaque red beside fully transparent blue (whose colour must not bleed).
convert -size 64x64 xc:"rgba(0,0,255,0)" -fill red -draw "rectangle 0,0 30,63" PNG32:bleed.png
convert -seed 5 -size 1024x768 plasma:fractal -quality 92 big.jpg
convert -size 128x96 gradient:white-black -quality 95 gray.jpg
convert alpha.png -alpha off bmp3:plain.bmp
# EXIF orientation 6 (rotate 90): the DCT scale is chosen on the stored
# (unrotated) sides, the target on the displayed ones.
convert -seed 7 -size 160x96 plasma:fractal -quality 95 rot.jpg
exiftool -q -overwrite_original -Orientation=6 -n rot.jpg
for i in 0 1 2; do convert -size 40x30 xc:white -fill "rgb($((i * 100)),80,40)" -draw "rectangle $((i * 5)),2 $((i * 5 + 20)),20" PNG24:f$i.png; done
convert -delay 10 f0.png f1.png f2.png -loop 0 anim.gif

# check FILE WxH TOL [WANT]: size as ImageMagick fits it (or WANT), pixels within TOL
check() {
	local f=$1 g=$2 tol=$3 want=${4:-}
	local n=$(identify -format '%n\n' "$f" | head -1) refs=()
	local img=$(echo "$g" | sed 's/^0x/x/; s/x0$/x/') # ImageMagick leaves out a free side
	local size=$(convert "$f[0]" -scale "$img" -format %wx%h info:)
	[ -z "$want" ] || [ "$size" = "$want" ] || fail "$f $g: ImageMagick gives $size, want $want"
	for ((i = 0; i < n; i++)); do
		convert "$f" -coalesce -scale "$img" -depth 8 rgba:ref.rgba
		local fb=$(( $(stat -c %s ref.rgba) / n ))
		tail -c +$((i * fb + 1)) ref.rgba | head -c $fb > ref$i.rgba
		refs+=(ref$i.rgba)
	done
	"$bin" scaled "$f" "$g" "$tol" "${refs[@]}" >out.txt || fail "$f scaled to $g"
	cat out.txt
	grep -q "^ok $f: [a-z]* $size," out.txt || fail "$f $g: decoded size is not $size"
}

check alpha.png 32x32 1 32x20
check alpha.png 40x25 1 40x25
check alpha.png 20x61 1 20x13
check alpha.png 100x50 1 80x50
check alpha.png 48x0 1 48x30
check alpha.png 0x10 1 16x10
check alpha.png 1x1 1 1x1
check alpha.png 97x1 1 2x1
check bleed.png 16x16 1 16x16
check bleed.png 5x5 1
check plain.bmp 33x33 1
check anim.gif 13x13 1
check big.jpg 100x50 8 67x50
check big.jpg 300x300 8
check big.jpg 1000x1000 8 1000x750
check gray.jpg 30x30 8
convert rot.jpg -auto-orient -scale 30x30 -depth 8 rgba:rot.rgba
"$bin" scaled rot.jpg 30x30 8 rot.rgba | grep -q "jpeg 18x30," || fail "rot.jpg: not 18x30 upright"
# Never scaled up: a larger ideal size leaves the image as it is.
convert alpha.png -depth 8 rgba:full.rgba
"$bin" scaled alpha.png 500x500 0 full.rgba || fail "alpha.png upscaled"
"$bin" scaled alpha.png 97x0 0 full.rgba || fail "alpha.png at its own width"
# The transparent half must not tint the edge pixel: it stays pure red.
convert bleed.png -scale 8x8 -depth 8 rgba:b.rgba
od -An -tu1 -j$((3 * 4)) -N4 b.rgba | grep -q '255 *0 *0' || fail "ImageMagick reference bleeds: $(od -An -tu1 -j12 -N4 b.rgba)"

[ $fails -eq 0 ] && echo "all scaling checks passed"
exit $((fails > 0))
