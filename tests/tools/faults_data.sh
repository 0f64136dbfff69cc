#!/usr/bin/env bash
# The data tools under hostile input: outputs of a failed run, compressed inputs they do
# not read, strings with NUL, scores off their scale, drops that must be counted, and
# option values that make no sense.
. "$(dirname "$0")/lib.sh"
TOK=$DATA/tokenizers/gpt2/encoder.json
rad-score-normalize "$DATA/uf_binarized_trl_head30.jsonl" > "$T/pairs.jsonl"
( head -3 "$T/pairs.jsonl"; echo '{"id": broken' ) > "$T/bad.jsonl"

# --- -o FILE: whole or not at all ---------------------------------------------------------
status_is 1 "a failed run exits 1" rad-relabel "$T/bad.jsonl" -o "$T/new.jsonl"
same "a failed run leaves no output file" "$(ls "$T" | grep -c new.jsonl)" "0"
echo previous > "$T/old.jsonl"
status_is 1 "a failed run over an old output exits 1" rad-relabel "$T/bad.jsonl" -o "$T/old.jsonl"
same "a failed run leaves the old output as it was" "$(cat "$T/old.jsonl"; ls "$T" | grep -c old.jsonl)" "previous
1"
chmod 640 "$T/old.jsonl"
rad-relabel "$T/pairs.jsonl" -o "$T/old.jsonl"
same "a replaced output keeps its permissions" "$(stat -c %a "$T/old.jsonl")" "640"
same "a replaced output is whole" "$(wc -l < "$T/old.jsonl")" "60"
ln -s old.jsonl "$T/link.jsonl"
rad-relabel --mode pos "$T/pairs.jsonl" -o "$T/link.jsonl"
same "an output through a link replaces the file, the link stays" \
	"$(test -L "$T/link.jsonl" && echo link) $(wc -l < "$T/old.jsonl")" "link 30"
cp "$T/pairs.jsonl" "$T/inplace.jsonl"
rad-score-normalize "$T/inplace.jsonl" -o "$T/inplace.jsonl"
same "an output may replace its own input" "$(cmp "$T/pairs.jsonl" "$T/inplace.jsonl" && echo same)" "same"
ok_if "an output to a device is written in place" rad-relabel "$T/pairs.jsonl" -o /dev/null
# a stream tool: the header is written before the bad record is met
( echo '{"id":"a","prompt":"p","chosen":"c","rejected":"r"}'; echo '{"id":"b","prompt":7}' ) > "$T/badpair.jsonl"
status_is 1 "rad-tokenize fails on a bad record" rad-tokenize -t "$TOK" "$T/badpair.jsonl" -o "$T/p.rad"
same "rad-tokenize leaves no stream behind" "$(ls "$T" | grep -c 'p\.rad')" "0"
# ended by a signal: the temporary file goes too
sleep 20 | rad-relabel -o "$T/sig.jsonl" & pid=$!
for _ in $(seq 50); do ls "$T" | grep -q sig.jsonl && break; sleep 0.1; done
same "an output being written is not under its name yet" "$(ls "$T" | grep -c '^sig\.jsonl\.tmp\.')" "1"
kill -TERM "$pid"; wait "$pid" 2>/dev/null
same "SIGTERM removes the unfinished output" "$(ls "$T" | grep -c sig.jsonl)" "0"

# --- compressed inputs rad does not read ---------------------------------------------------
gzip -c "$T/pairs.jsonl" > "$T/pairs.jsonl.gz"
for tool in "rad-score-normalize" "rad-relabel" "rad-tokenize -t $TOK" "rad-eval summary" "rad-dump --encode" "rad-pack"; do
	status_is 1 "$tool: gzip input is refused" $tool "$T/pairs.jsonl.gz"
	case $(last_stderr) in *"pairs.jsonl.gz: this looks like gzip: zcat it or use .zst"*) echo "ok $tool: gzip input is named";;
		*) echo "FAIL $tool: gzip input is named: $(last_stderr | head -1)"; _fails=$((_fails + 1));; esac
done

# --- rad-eval summary and prefs on empty input (the sanitizer build saw qsort(NULL, 0)) -----
: > "$T/empty.jsonl"
same "summary of an empty judged file" "$(rad-eval summary "$T/empty.jsonl" | jq -c '.files[0] | [.records, .mean, .controllability]')" '[0,null,{}]'
rad-init --vocab 64 --layers 1 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/m" 2>/dev/null
echo '{"type":"HEAD","kind":"batches","version":1,"fingerprint":"","meta":{}}' | rad-dump --encode -o "$T/none.rad"
same "prefs on a stream without batches" "$(rad-eval prefs -m "$T/m" "$T/none.rad" | jq -c '[.pairs, .by_goal, .by_gap]')" '[0,{},{}]'

# --- strings carry their length --------------------------------------------------------------
printf '%s\n' '{"id":"x\u0000a","goal":"g\u0000a","score":3}' '{"id":"x\u0000b","goal":"g\u0000b","score":5}' > "$T/j1.jsonl"
printf '%s\n' '{"id":"x\u0000b","score":4}' '{"id":"x\u0000a","score":4}' > "$T/j2.jsonl"
same "summary: ids that differ after a NUL are two ids" \
	"$(rad-eval summary "$T/j1.jsonl" "$T/j2.jsonl" | jq -c '[.files[0].records, (.files[0].controllability | length), .win_rate.matched, .win_rate.wins]')" '[2,2,2,1]'

exit $((_fails > 0))
