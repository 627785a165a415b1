# xdg-fixture.sh — a temporary XDG tree for LaunchServer's shell tests and
# benchmark; source it with $dir set and $recorder the recorder program:
#   . xdg-fixture.sh
# Exports XDG_DATA_HOME, XDG_DATA_DIRS, XDG_CONFIG_HOME, XDG_CONFIG_DIRS and
# REC_DIR into $dir/xdg; unsets XDG_CURRENT_DESKTOP (xdg-mime then runs its
# generic code). The system's shared-mime-info database is copied (its
# top-level files) so gio and LaunchServer read the same one. Applications
# are the recorder under several names; files to classify are in $x/files.
x=$dir/xdg
mkdir -p "$x/bin" "$x/out" "$x/config" "$x/data/applications" "$x/sys/applications" "$x/sys/mime" "$x/files"
find /usr/share/mime -maxdepth 1 -type f -exec cp {} "$x/sys/mime/" \;
for n in viewer uviewer editor browser mailer helpapp csvapp; do ln -s "$recorder" "$x/bin/$n"; done
export XDG_DATA_HOME=$x/data XDG_DATA_DIRS=$x/sys XDG_CONFIG_HOME=$x/config XDG_CONFIG_DIRS=$x/etc-xdg
export REC_DIR=$x/out
unset XDG_CURRENT_DESKTOP XDG_MENU_PREFIX DESKTOP_SESSION KDE_FULL_SESSION GNOME_DESKTOP_SESSION_ID
app() { # app DIR ID NAME EXEC MIMETYPES
	printf '[Desktop Entry]\nType=Application\nName=%s\nExec=%s\nMimeType=%s\n' "$3" "$4" "$5" >"$1/$2"
}
app "$x/sys/applications" viewer.desktop "System Viewer" "$x/bin/viewer %f" "image/png;image/jpeg;"
app "$x/data/applications" viewer.desktop "User Viewer" "$x/bin/uviewer %f" "image/png;image/jpeg;"
app "$x/sys/applications" editor.desktop Editor "$x/bin/editor %F" "text/plain;application/json;"
app "$x/sys/applications" browser.desktop Browser "$x/bin/browser %u" "x-scheme-handler/https;x-scheme-handler/http;text/html;"
app "$x/sys/applications" mailer.desktop Mailer "$x/bin/mailer %u" "x-scheme-handler/mailto;"
app "$x/sys/applications" help.desktop Help "$x/bin/helpapp %U" "x-scheme-handler/haven-help;"
app "$x/sys/applications" csvapp.desktop CSV "$x/bin/csvapp %f" "text/csv;image/gif;"
# The system list says csvapp for image/png; the user's says viewer.
printf '[Default Applications]\nimage/png=csvapp.desktop;\nimage/gif=csvapp.desktop;\n' >"$x/sys/applications/mimeapps.list"
printf '[Default Applications]\nimage/png=viewer.desktop;\ntext/plain=editor.desktop;\nx-scheme-handler/https=browser.desktop;\nx-scheme-handler/mailto=mailer.desktop;\ntext/html=browser.desktop;\n' \
	>"$x/config/mimeapps.list"
# Files: a PNG (by name and, without an extension, by content), text,
# HTML, JSON, gzip.
printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\0\x01\x01\0\x05\x18\xd8N\0\0\0\0IEND\xaeB`\x82' >"$x/files/picture.png"
cp "$x/files/picture.png" "$x/files/picture"
printf 'some words\n' >"$x/files/notes.txt"
printf '<!DOCTYPE html>\n<html><head><title>t</title></head><body>hi</body></html>\n' >"$x/files/page.html"
printf '{"a": [1, 2, 3]}\n' >"$x/files/data.json"
printf 'x' | gzip -c >"$x/files/archive.gz"
