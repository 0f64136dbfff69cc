#!/usr/bin/env bash
# pipelines/lib.sh: a stage runs when its output is missing or its recipe (command,
# variables, functions, inputs) changed, writes a temporary name and renames it only on
# success; a killed stage's directory is resumed only by the same recipe; the lock turns a
# second run away, and a work directory that cannot be written is said so; pipelines/plot
# writes PNGs from metrics and judged files.
. "$(dirname "$0")/lib.sh"
RAD_PIPELINE=lib-test
. "$TOP/pipelines/lib.sh"
cd "$T"
echo a >in
runs=0
OPT=1
count() { runs=$((runs + 1)); { cat in; echo "$OPT"; } >"$tmp"; }
stage out in -- 'count'
same "stage: runs when the output is missing" "$runs:$(cat out | tr '\n' ' ')" "1:a 1 "
ok_if "stage: no temporary left" test ! -e out.tmp
same "stage: the recipe is recorded" "$(jq -c '[.command, .vars.OPT, (.functions | keys), (.inputs | keys)]' .stages/out)" \
	'["count","1",["count"],["in"]]'
stage out in -- 'count'
same "stage: skipped when nothing changed" "$runs" 1
touch -d '+2 seconds' in; echo b >in; touch -d '+2 seconds' in
stage out in -- 'count'
same "stage: redone when an input is newer" "$runs:$(head -1 out)" "2:b"
echo c >in; touch -d '-2 days' in
stage out in -- 'count'
same "stage: redone when an input is replaced by an older file" "$runs:$(head -1 out)" "3:c"
OPT=2
stage out in -- 'count'
same "stage: redone when a variable its function reads changes" "$runs:$(tail -1 out)" "4:2"
RAD_JOBS=3 stage out in -- 'count'
same "stage: not redone for another number of shards" "$runs" 4
stage out in -- 'count; :'
same "stage: redone when its command changes" "$runs" 5
arr=(x y)
stage out2 in -- 'printf "%s\n" "${arr[@]}" >"$tmp"'
arr=(x z)
stage out2 in -- 'printf "%s\n" "${arr[@]}" >"$tmp"'
same "stage: an array is keyed whole" "$(tail -1 out2)" z
( stage bad in -- 'echo partial >"$tmp"; false' ) 2>/dev/null
ok_if "stage: a failed command leaves no output" test ! -e bad
# a killed run's directory: resumed by the same recipe, removed for another
resumable='mkdir -p "$tmp"; if [ -e "$tmp/state" ]; then cp "$tmp/state" "$tmp/seen"; else echo kept >"$tmp/state"; false; fi'
( stage dir in -- "$resumable" ) 2>/dev/null
ok_if "stage: a killed run leaves its directory" test -f dir.tmp/state
stage dir in -- "$resumable"
same "stage: the same recipe resumes from it" "$(cat dir/seen)" kept
( stage dir2 in -- "$resumable" ) 2>/dev/null
OPT=3
stage dir2 in -- "$resumable; : \$OPT" 2>/dev/null
ok_if "stage: another recipe starts afresh" test ! -e dir2/seen
touch out2
status_is 1 "stage: a missing input is an error" bash -c '. "$0"; stage out2 nothere -- "true"' "$TOP/pipelines/lib.sh"
same "stage: it names the input" "$(last_stderr | grep -c 'input nothere is missing')" 1

# the lock
mkdir -p w
( exec 9>w/.lock; flock 9; sleep 3 ) &
sleep 0.5
status_is 1 "lock: a second run on the directory stops" bash -c '. "$0"; rad_lock w' "$TOP/pipelines/lib.sh"
same "lock: it says why" "$(last_stderr | grep -c 'another run holds')" 1
wait

# a work directory that cannot be written is said so, in the pipeline's name
if unshare -rm true 2>/dev/null; then
	mkdir -p ro
	RAD_PIPELINE=lib-test unshare -rm bash -c 'mount -t tmpfs tmpfs ro && mkdir ro/w && mount -o remount,ro ro && . "$0"
		( rad_lock ro/w ) 2>err1; echo "rc=$?"; ( rad_lock ro/new ) 2>err2; echo "rc=$?"' "$TOP/pipelines/lib.sh" >ro.out 2>&1
	same "lock: a read-only work directory, exit 1" "$(cat ro.out)" "rc=1
rc=1"
	same "lock: it says so in the pipeline's name" "$(cat err1)" "lib-test: ro/w: the work directory is not writable: Read-only file system"
	same "lock: a work directory that cannot be made" "$(cat err2)" "lib-test: ro/new: cannot create the work directory: Read-only file system"
else
	skip "lock: a read-only work directory" "mounting a tmpfs (unshare -rm) is not allowed here"
fi

# plots
if command -v gnuplot >/dev/null && command -v jq >/dev/null; then
	mkdir -p r1 r2
	for i in $(seq 1 30); do echo "{\"step\":$i,\"loss\":$(echo "1/$i" | bc -l),\"rewards/margins\":0.$i,\"rewards/accuracies\":0.5}"; done >r1/metrics.jsonl
	for i in $(seq 1 20); do echo "{\"step\":$i,\"loss\":0.7,\"rewards/margins\":0.1,\"rewards/accuracies\":0.6}"; done >r2/metrics.jsonl
	for g in 1 5 10; do echo "{\"id\":\"x$g\",\"goal\":\"Overall score: $g.\",\"score\":$g}"; done >judged.jsonl
	out=$("$TOP/pipelines/plot" -o png r1/metrics.jsonl r2/metrics.jsonl judged.jsonl)
	same "plot: two PNGs" "$out" "png/training.png
png/controllability.png"
	same "plot: they are PNG files" "$(head -c 4 png/training.png | tail -c 3)$(head -c 4 png/controllability.png | tail -c 3)" PNGPNG
	echo '{"x":1}' >other.jsonl
	status_is 1 "plot: a file of neither kind is refused" "$TOP/pipelines/plot" -o png other.jsonl
else
	skip plot "gnuplot or jq is not installed"
fi
