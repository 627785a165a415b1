# pam-copies.sh — source after cli-test.sh. pam_wrapper copies the PAM dir
# it is pointed at to /tmp/pam.X and removes the copy when the process
# exits — which LoginServer's front, confined to no files, cannot do. Set
# PAM_WRAPPER_KEEP_DIR=1 for it and call remove_pam_copies in the exit
# trap: it removes the copies made since sourcing that hold one of
# $dir's service files ($1: a file name in them, haven-login by default).
pam_copies_before=$(ls -d /tmp/pam.* 2>/dev/null)
remove_pam_copies() {
	local d
	for d in /tmp/pam.*; do
		[ -f "$d/${1:-haven-login}" ] || continue
		grep -qxF "$d" <<<"$pam_copies_before" && continue
		cmp -s "$d/${1:-haven-login}" "$dir/pam.d/${1:-haven-login}" && rm -rf "$d"
	done
}
