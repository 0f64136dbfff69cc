#!/usr/bin/env bash
# faults_train.sh — the model tools under faults: a full disk (a small tmpfs in a private
# mount namespace, where `unshare -rm` is allowed; skipped otherwise), write errors
# (/dev/full), output directories that hold a user's files, stale temporaries, a second
# trainer on the same output directory.
. "$(dirname "$0")/lib.sh"

gen() {   # seed n
	awk -v seed="$1" -v n="$2" -v pairs=2 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" | rad-dump --encode
}
gen 2 4 > "$T/b4"
rad-init --vocab 64 --layers 1 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/m" > /dev/null

# full_disk KB 'SCRIPT': runs SCRIPT in $T/fs, a KB-kilobyte tmpfs of its own (the mount
# lives as long as SCRIPT), printing what SCRIPT prints; returns 77 where mounting is not allowed.
mkdir -p "$T/fs"
full_disk() {
	unshare -rm true 2> /dev/null || return 77
	unshare -rm bash -c 'mount -t tmpfs -o size="$1k" tmpfs "$2" && cd "$2" && eval "$3"' _ "$1" "$T/fs" "$2"
}

# rad-init on a full disk: exit 1, no partial file, no directory of its own left behind
out=$(full_disk 64 'rad-init --vocab 640 --layers 2 --heads 2 --dim 64 -o m 2> err; echo "rc=$?"; ls -A; cat err
	mkdir own; rad-init --vocab 640 --layers 2 --heads 2 --dim 64 -o own 2> /dev/null; echo "rc=$?"; ls -A own')
if [ $? = 77 ]; then
	skip "init on a full disk" "mounting a tmpfs (unshare -rm) is not allowed here"
else
	same "init on a full disk: exit 1, nothing left" "$(sed -n 1,2p <<<"$out")" "rc=1
err"
	same "init on a full disk: the message names the file and the cause" \
		"$(grep -c 'm/model.safetensors.tmp: write failed: No space left on device' <<<"$out")" 1
	same "init on a full disk, into an existing directory: it is left empty" "$(sed -n '4,$p' <<<"$out")" "rc=1"
fi
