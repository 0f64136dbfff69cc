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
# rad-tokenize: content is encoded by its length; ids travel on as C strings, so a NUL in
# one is refused rather than cut (both ids used to become "x", both prompts "x")
printf '%s\n' '{"id":"a","prompt":"x\u0000AAA","chosen":"c\u0000C","rejected":"r"}' \
	'{"id":"b","prompt":"x\u0000BBB","chosen":"c","rejected":"r"}' > "$T/nulc.jsonl"
rad-tokenize -t "$TOK" -T plain "$T/nulc.jsonl" | rad-dump -t "$TOK" > "$T/nulc.json"
same "rad-tokenize: prompts that differ after a NUL stay different" \
	"$(jq -c '[.prompt_text, .chosen_text]' "$T/nulc.json" | tr '\n' ' ')" \
	'["x\u0000AAA\n\n","c\u0000C<|endoftext|>"] ["x\u0000BBB\n\n","c<|endoftext|>"] '
same "rad-tokenize: the NUL is a token of its own" "$(jq -c '.prompt[1]' "$T/nulc.json" | head -1)" "$(printf 'x\0' | rad-tokenize -t "$TOK" --text | cut -d' ' -f2)"
same "rad-tokenize --render keeps the NUL" "$(rad-tokenize -t "$TOK" -T plain --render "$T/nulc.jsonl" | jq -c .prompt | head -1)" '"x\u0000AAA\n\n"'
printf '%s\n' '{"id":"x\u0000AAA","prompt":"p","chosen":"c","rejected":"r"}' > "$T/nulid.jsonl"
status_is 1 "rad-tokenize: an id with a NUL is refused" rad-tokenize -t "$TOK" "$T/nulid.jsonl"
same "rad-tokenize: the message names the field" "$(last_stderr)" "rad-tokenize: $T/nulid.jsonl:1: \"id\" holds a NUL character (\u0000), which it cannot carry on"
printf '%s\n' '{"id":"a","prompt":[{"role":"user\u0000x","content":"p"}],"chosen":"c","rejected":"r"}' > "$T/nulrole.jsonl"
status_is 1 "rad-tokenize: a role with a NUL is refused" rad-tokenize -t "$TOK" "$T/nulrole.jsonl"

# --- rad-dump --encode: what its reader refuses, the HEAD's version, empty input ---------------
H='{"type":"HEAD","kind":"pairs","version":1,"fingerprint":"f00d","meta":{}}'
( echo "$H"; echo '{"type":"BTCH","pair_id":["x\u0000a","x\u0000b"],"note":"n\u0000m"}' ) | rad-dump -e > "$T/nul.rad"
same "encode: string lists and strings keep their NULs" "$(rad-dump "$T/nul.rad")" '{"type":"BTCH","pair_id":["x\u0000a","x\u0000b"],"note":"n\u0000m"}'
( echo "$H"; echo '{"type":"PAIR","caf\u00e9":1}' ) > "$T/name.jsonl"
status_is 1 "encode: a field name the reader refuses" rad-dump -e "$T/name.jsonl" -o "$T/name.rad"
same "encode: ... is named, and no stream is left" "$(last_stderr; ls "$T" | grep -c name.rad)" "rad-dump: $T/name.jsonl:2: field name 'café' is not printable ASCII, which a stream reader refuses
0"
status_is 1 "encode: a record type the reader cannot name" sh -c "echo '{\"type\":\"P\\u0000IR\"}' | rad-dump -e --kind pairs"
status_is 1 "encode: a HEAD of another version" sh -c "echo '{\"type\":\"HEAD\",\"kind\":\"pairs\",\"version\":2}' | rad-dump -e"
same "encode: ... says which version" "$(last_stderr)" 'rad-dump: stdin:1: HEAD "version" must be 1, the stream format this rad writes'
status_is 1 "encode: a fingerprint too long to keep" sh -c "echo '{\"type\":\"HEAD\",\"kind\":\"pairs\",\"fingerprint\":\"$(printf '%070d' 0)\"}' | rad-dump -e"
( echo "$H"; echo "${H/f00d/beef}" ) > "$T/twoheads.jsonl"
status_is 1 "encode: a later HEAD of another tokenizer" rad-dump -e "$T/twoheads.jsonl"
same "encode: empty input with --kind is the empty stream of that kind" \
	"$(rad-dump -e --kind batches < /dev/null | rad-dump -H | jq -c '[.kind, .version]')" '["batches",1]'
status_is 1 "encode: empty input without --kind" rad-dump -e < /dev/null
same "encode: ... says what is missing" "$(last_stderr)" "rad-dump: empty input and no --kind: no stream to write (--kind names its kind)"
status_is 2 "encode: a --kind that is no kind" rad-dump -e --kind '' < /dev/null

# --- scores against their scale -------------------------------------------------------------
# reward-model scores in [-1, 1], as the held-out ActiveUF file has them
printf '%s\n' '{"id":"a","prompt":"p","chosen":"x","rejected":"y","score_chosen":0.5,"score_rejected":-0.754}' \
	'{"id":"b","prompt":"q","chosen":"x","rejected":"y","score_chosen":1,"score_rejected":-1}' > "$T/rm.jsonl"
status_is 1 "normalize: scores off the scale under --scale-by none" rad-score-normalize "$T/rm.jsonl"
same "normalize: ... names the line and the way to map them" "$(last_stderr)" \
	"rad-score-normalize: $T/rm.jsonl:1: score_chosen 0.5 is off the scale 1:10, where --scale-by none keeps scores: map the scores onto it with --scale-by linear --from LO:HI (or --scale-by rank), or --out-of-range drop|clamp"
same "normalize: --scale-by linear --from -1:1 maps them" \
	"$(rad-score-normalize --scale-by linear --from -1:1 "$T/rm.jsonl" | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')" "[7.75,2.107] [10,1] "
status_is 1 "normalize: --from 0:1 on [-1, 1] data" rad-score-normalize --scale-by linear --from 0:1 "$T/rm.jsonl"
same "normalize: ... names the score and --from" "$(last_stderr)" \
	"rad-score-normalize: $T/rm.jsonl:1: score_rejected -0.754 is outside --from 0:1: widen --from to the scores' range, or --out-of-range drop|clamp"
same "normalize: --out-of-range drop drops and counts" \
	"$(rad-score-normalize --scale-by linear --from 0:1 --out-of-range drop "$T/rm.jsonl" 2>&1 >/dev/null)" \
	"rad-score-normalize: 2 of 2 records dropped, 0 invalid skipped, 0 scores clamped into the range (--verbose for reasons)"
same "normalize: --out-of-range clamp moves to the end and counts" \
	"$(rad-score-normalize --scale-by linear --from 0:1 --out-of-range clamp "$T/rm.jsonl" 2>"$T/clamp.err" | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')$(cat "$T/clamp.err")" \
	"[5.5,1] [10,1] rad-score-normalize: 0 of 2 records dropped, 0 invalid skipped, 2 scores clamped into the range (--verbose for reasons)"
printf '%s\n' '{"id":"h","prompt":"p","chosen":"x","rejected":"y","score_chosen":1e308,"score_rejected":-1e308}' > "$T/huge.jsonl"
status_is 1 "normalize: a score of 1e308 is off the scale" rad-score-normalize "$T/huge.jsonl"
same "normalize: the widest --from maps 1e308 onto the scale, not to the raw score" \
	"$(rad-score-normalize --scale-by linear --from -1e308:1e308 "$T/huge.jsonl" | jq -c '[.score_chosen, .score_rejected]')" "[10,1]"
same "normalize: --round 1e-12 is not rounding to integers" \
	"$(rad-score-normalize --scale-by linear --from -1:1 --round 1e-12 "$T/rm.jsonl" | jq -c .score_rejected | head -1)" "2.107"
same "normalize: --round 0.25" "$(rad-score-normalize --scale-by linear --from -1:1 --round 0.25 "$T/rm.jsonl" | jq -c .score_rejected | head -1)" "2"
status_is 2 "normalize: --round inf" rad-score-normalize --round inf "$T/rm.jsonl"
status_is 2 "normalize: --from with an infinite end" rad-score-normalize --scale-by linear --from 0:inf "$T/rm.jsonl"
status_is 2 "normalize: an unknown --out-of-range" rad-score-normalize --out-of-range keep "$T/rm.jsonl"
# rad-relabel knows its text's scale, 1-10
rad-score-normalize --scale -1:1 "$T/rm.jsonl" > "$T/rm.pairs"
status_is 1 "relabel: a goal off the text's scale" rad-relabel "$T/rm.pairs"
same "relabel: ... names the way onto the scale" "$(last_stderr)" \
	"rad-relabel: $T/rm.pairs:1: score_chosen 0.5 is off the goal text's scale 1-10: put the scores on it with rad-score-normalize --scale 1:10 --scale-by linear --from LO:HI (or --scale-by rank)"
rad-score-normalize --scale-by linear --from -1:1 --scale 0:100 "$T/rm.jsonl" > "$T/rm100.pairs"
status_is 1 "relabel: scores normalized onto 0:100 (Overall score: 90)" rad-relabel "$T/rm100.pairs"
status_is 2 "relabel: --goal 1e308" rad-relabel --goal 1e308 "$T/pairs.jsonl"
status_is 2 "relabel: --goal 0" rad-relabel --goal 0 "$T/pairs.jsonl"
printf 'Aim for {score} out of 100.' > "$T/g100.txt"
same "relabel: a template with its own --scale" "$(rad-relabel --template "$T/g100.txt" --scale 0:100 "$T/rm100.pairs" | jq -r .goal | head -1)" "Aim for 75 out of 100."
status_is 2 "relabel: --scale without --template (the paper's text says 1-10)" rad-relabel --scale 0:100 "$T/rm100.pairs"
# pipelines/ra-dpo passes --scale-by, --from and --round to rad-score-normalize
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 64 -o "$T/gm" >/dev/null 2>&1
status_is 1 "ra-dpo: --scale-by linear --from reach rad-score-normalize" \
	"$TOP/pipelines/ra-dpo" -w "$T/w1" -i "$T/rm.jsonl" -m "$T/gm" -t "$TOK" --scale-by linear --from 0:1
case $(last_stderr) in *"score_rejected -0.754 is outside --from 0:1"*) echo "ok ra-dpo: ... and their message comes back";;
	*) echo "FAIL ra-dpo: ... and their message comes back: $(last_stderr | head -3)"; _fails=$((_fails + 1));; esac
status_is 1 "ra-dpo: --round reaches rad-score-normalize (stopped at relabeling)" \
	"$TOP/pipelines/ra-dpo" -w "$T/w2" -i "$T/rm.jsonl" -m "$T/gm" -t "$TOK" --scale-by linear --from -1:1 --round 3 --mode nosuch
same "ra-dpo: the pairs are on the scale, rounded" "$(jq -c '[.score_chosen, .score_rejected]' "$T/w2/pairs.jsonl" | tr '\n' ' ')" "[9,3] [9,0] "

exit $((_fails > 0))
