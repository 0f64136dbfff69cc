#!/usr/bin/env bash
# pipelines/lib.sh: a stage runs when its output is missing or older than an input, writes
# a temporary name and renames it only on success; the lock turns a second run away;
# pipelines/plot writes PNGs from metrics and judged files.
. "$(dirname "$0")/lib.sh"
RAD_PIPELINE=lib-test
. "$TOP/pipelines/lib.sh"
cd "$T"
echo a >in
runs=0
count() { runs=$((runs + 1)); cat in >"$tmp"; }
stage out in -- 'count'
same "stage: runs when the output is missing" "$runs:$(cat out)" "1:a"
ok_if "stage: no temporary left" test ! -e out.tmp
stage out in -- 'count'
same "stage: skipped when newer than its inputs" "$runs" 1
touch -d '+2 seconds' in; echo b >in; touch -d '+2 seconds' in
stage out in -- 'count'
same "stage: redone when an input is newer" "$runs:$(cat out)" "2:b"
( stage bad in -- 'echo partial >"$tmp"; false' ) 2>/dev/null
ok_if "stage: a failed command leaves no output" test ! -e bad
mkdir -p dir.tmp && echo kept >dir.tmp/state
stage dir in -- 'cat dir.tmp/state >"$tmp/seen"'
same "stage: a directory left by a killed run is resumed from" "$(cat dir/seen)" kept
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
