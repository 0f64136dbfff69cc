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
	unshare -rm bash -c 'mount -t tmpfs -o size="$1k" tmpfs "$2" && cd "$2" && eval "$3"' "$T/fs" "$1" "$T/fs" "$2"
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

# rad-train-step -o DIR never removes a user's files: a directory that is neither empty
# nor a checkpoint it wrote is refused, with or without --resume, and nothing is left.
train() { rad-train-step -m "$T/m" --loss sft --threads 1 "$@" "$T/b4"; }
mkdir -p "$T/out" && echo x > "$T/out/thesis.tex"
for resume in "" --resume; do
	status_is 1 "output with a user's file${resume:+, $resume}: refused" train -o "$T/out" $resume
	same "output with a user's file${resume:+, $resume}: said" "$(last_stderr | grep -c 'out: not empty, and not a checkpoint rad-train-step wrote')" 1
	same "output with a user's file${resume:+, $resume}: the file is there" "$(cat "$T/out/thesis.tex")" x
	ok_if "output with a user's file${resume:+, $resume}: no temporary" test ! -e "$T/out.tmp" -a ! -e "$T/out.lock"
done
mkdir -p "$T/sub/notes"
status_is 1 "output with a sub-directory: refused" train -o "$T/sub"
ok_if "output with a sub-directory: left as it was" test -d "$T/sub/notes" -a ! -e "$T/sub.tmp"
echo x > "$T/afile"
status_is 1 "output that is a file: refused" train -o "$T/afile"
# -o . and -o DIR/: the checkpoint is the directory itself, its temporary beside it
mkdir -p "$T/dot" && (cd "$T/dot" && train -o . > /dev/null)
ok_if "-o . in an empty directory: the checkpoint is there" test -f "$T/dot/trainer_state.json" -a -f "$T/dot/.rad-checkpoint"
ok_if "-o .: nothing left beside or inside" test ! -e "$T/dot.tmp" -a ! -e "$T/dot/..tmp" -a ! -e "$T/dot.lock" -a ! -e "$T/dot/..lock"
(cd "$T/out" && status_is 1 "-o . among a user's files: refused" train -o .)
ok_if "trailing slash: the checkpoint in DIR" train -o "$T/slash/"
ok_if "trailing slash: its temporary was beside it" test -f "$T/slash/trainer_state.json" -a ! -e "$T/slash/.tmp"

# A checkpoint's own directory is replaced; files someone put in it are carried along.
train -o "$T/ck" > /dev/null
echo note > "$T/ck/notes.txt"
ok_if "a checkpoint with a user's note: replaced" train -o "$T/ck"
same "a checkpoint with a user's note: the note is kept" "$(cat "$T/ck/notes.txt")" note
ok_if "a checkpoint with a user's note: resumed" train -o "$T/ck" --resume
same "a checkpoint with a user's note: kept on resume" "$(cat "$T/ck/notes.txt" 2>&1)" note

# Stale temporaries: ours (a killed save: the mark, some files, a half-written one) are
# cleared; anything else is refused and left alone.
mkdir "$T/ck.tmp" && cp "$T/ck/.rad-checkpoint" "$T/ck/config.json" "$T/ck.tmp/" && head -c 100 "$T/ck/model.safetensors" > "$T/ck.tmp/model.safetensors.tmp"
ok_if "a stale temporary of ours: cleared" train -o "$T/ck" --resume
ok_if "a stale temporary of ours: gone" test ! -e "$T/ck.tmp"
mkdir "$T/ck.tmp" && echo mine > "$T/ck.tmp/mine.txt"
status_is 1 "a temporary that is not ours: refused" train -o "$T/ck"
same "a temporary that is not ours: said" "$(last_stderr | grep -c 'ck.tmp: holds "mine.txt", which rad-train-step did not write')" 1
same "a temporary that is not ours: left alone" "$(cat "$T/ck.tmp/mine.txt")" mine
rm -r "$T/ck.tmp"
mkdir "$T/ck.tmp" && cp "$T/ck/.rad-checkpoint" "$T/ck.tmp/" && echo mine > "$T/ck.tmp/mine.txt"
status_is 1 "a marked temporary holding another file: refused" train -o "$T/ck"
same "a marked temporary holding another file: the file stays" "$(cat "$T/ck.tmp/mine.txt")" mine
rm -r "$T/ck.tmp"

# Two trainers on one output directory: the second stops at once with a message.
( exec 9> "$T/ck.lock"; flock 9; sleep 3 ) &
sleep 0.5
status_is 1 "a held lock: the second trainer stops" train -o "$T/ck" --resume
same "a held lock: said" "$(last_stderr | grep -c 'another rad-train-step is writing checkpoints here')" 1
wait
# the first trainer holds the lock while it waits for its input
{ sleep 3; cat "$T/b4"; } | rad-train-step -m "$T/m" --loss sft --threads 1 -o "$T/race" > /dev/null 2> "$T/race.err" &
pid=$!
for i in $(seq 1 50); do [ -s "$T/race.lock" ] && break; sleep 0.05; done
status_is 1 "two trainers at once: the second stops" train -o "$T/race"
same "two trainers at once: the holder is named" "$(last_stderr | grep -c "another rad-train-step (pid $pid) is writing")" 1
wait "$pid"
same "two trainers at once: the first ends well" "$?:$(cat "$T/race.err")" "0:"
ok_if "two trainers at once: the lock file is gone with it" test ! -e "$T/race.lock"

# Write errors: the file named is left as it was (a device stays a device).
status_is 1 "--dump-grads to /dev/full: exit 1" train -o "$T/df" --dump-grads /dev/full
ok_if "--dump-grads to /dev/full: /dev/full is still there" test -c /dev/full
status_is 1 "--log to /dev/full: exit 1" train -o "$T/df" --log /dev/full

# A checkpoint save on a full disk: exit 1, the old checkpoint whole, no temporary left.
cp -r "$T/m" "$T/fs.m" && cp "$T/b4" "$T/fs.b4"
out=$(full_disk 400 'rad-train-step -m "$0.m" --loss sft --threads 1 -o ck "$0.b4" > /dev/null; echo "rc=$?"
	cp ck/model.safetensors before; head -c 300000 /dev/zero > filler 2> /dev/null
	rad-train-step -m "$0.m" --loss sft --threads 1 -o ck --resume "$0.b4" "$0.b4" > /dev/null 2> "$0.err"; echo "rc=$?"
	cmp -s before ck/model.safetensors && echo same; ls -A; grep -c "ck.tmp/.*: write failed: No space left on device" "$0.err"')
if [ $? = 77 ]; then
	skip "a checkpoint on a full disk" "mounting a tmpfs (unshare -rm) is not allowed here"
else
	same "a checkpoint on a full disk: the first fits, the second fails" "$(sed -n 1,2p <<<"$out")" "rc=0
rc=1"
	same "a checkpoint on a full disk: the old one is whole, nothing else left" "$(sed -n '3,$p' <<<"$out" | tr '\n' ' ')" \
		"same before ck filler 1 "
fi
