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
rad-relabel "$T/pairs.jsonl" -o /dev/stdout > "$T/viastdout.jsonl"
same "an output to /dev/stdout (a file the shell opened) is written in place" "$(wc -l < "$T/viastdout.jsonl")" "60"
# a stream tool: the header is written before the bad record is met
( echo '{"id":"a","prompt":"p","chosen":"c","rejected":"r"}'; echo '{"id":"b","prompt":7}' ) > "$T/badpair.jsonl"
status_is 1 "rad-tokenize fails on a bad record" rad-tokenize -t "$TOK" "$T/badpair.jsonl" -o "$T/p.rad"
same "rad-tokenize leaves no stream behind" "$(ls "$T" | grep -c 'p\.rad')" "0"
# ended by a signal: the temporary file goes too (the input, a FIFO held open, never ends)
mkfifo "$T/never"
rad-relabel -o "$T/sig.jsonl" < "$T/never" >/dev/null 2>&1 & pid=$!
exec 7>"$T/never"
for _ in $(seq 50); do ls "$T" | grep -q sig.jsonl && break; sleep 0.1; done
same "an output being written is not under its name yet" "$(ls "$T" | grep -c '^sig\.jsonl\.tmp\.')" "1"
kill -TERM "$pid"; wait "$pid" 2>/dev/null
exec 7>&-
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
# rad-score-normalize and rad-relabel: a score string or a role is whole or nothing
printf '%s\n' '{"prompt":"q","chosen":"a","rejected":"b","score_chosen":"8\u00001","score_rejected":"2"}' > "$T/nulscore.jsonl"
status_is 1 "normalize: a score string with a NUL is no score" rad-score-normalize --missing error "$T/nulscore.jsonl"
printf '%s\n' '{"prompt":[{"role":"user\u0000x","content":"q"}],"chosen":"a","rejected":"b","score_chosen":8,"score_rejected":2}' > "$T/nulrole2.jsonl"
status_is 1 "normalize: a role with a NUL is no role" rad-score-normalize "$T/nulrole2.jsonl"
same "normalize: ... and says so" "$(last_stderr)" "rad-score-normalize: $T/nulrole2.jsonl:1: prompt[0]: role holds a NUL character (\u0000)"
printf '%s\n' '{"id":"a","prompt":[{"role":"user\u0000x","content":"q"}],"chosen":"a","rejected":"b","score_chosen":8,"score_rejected":2}' > "$T/nulrole3.jsonl"
status_is 1 "relabel: a role with a NUL is no role" rad-relabel "$T/nulrole3.jsonl"

# --- rad-dump --encode: what its reader refuses, the HEAD's version, empty input ---------------
H='{"type":"HEAD","kind":"pairs","version":1,"fingerprint":"f00d","meta":{}}'
# a stream's strings hold no NUL (rad-stream(5)): refused, where they used to be cut
( echo "$H"; echo '{"type":"BTCH","pair_id":["x\u0000a","x\u0000b"]}' ) > "$T/nulstrs.jsonl"
status_is 1 "encode: a string list with a NUL" rad-dump -e "$T/nulstrs.jsonl"
same "encode: ... is named" "$(last_stderr)" "rad-dump: $T/nulstrs.jsonl:2: field 'pair_id' holds a NUL (\u0000), which a stream's strings cannot (rad-stream(5))"
status_is 1 "encode: a number where a PAIR's string goes (it became \"\", then a crash)" sh -c "echo '{\"type\":\"PAIR\",\"id\":5}' | rad-dump -e --kind pairs"
same "encode: ... is named" "$(last_stderr)" "rad-dump: stdin:1: field 'id' has a value of the wrong kind"
status_is 1 "encode: a string with a NUL" sh -c "echo '{\"type\":\"PAIR\",\"id\":\"x\\u0000a\"}' | rad-dump -e --kind pairs"
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

# --- nothing dropped without a count; nothing out of something is a failure -------------------
rad-relabel "$T/pairs.jsonl" | rad-tokenize -t "$TOK" -T plain -o "$T/t.rad"
rad-pack --max-length 200 "$T/t.rad" -o "$T/b.rad" 2> "$T/pack.err"
same "rad-pack: pairs that do not fit are counted without --verbose" "$(cat "$T/pack.err")" \
	"rad-pack: 26 of 60 pairs dropped: 26 too long for --max-length 200 (their prompts fill it: --max-prompt-length N cuts a prompt to N tokens and keeps the pair)"
same "rad-pack: ... and the rest are packed" "$(rad-dump "$T/b.rad" | jq -s 'map(.pair_id | length) | add')" "34"
status_is 1 "rad-pack: every pair dropped is a failure" rad-pack --max-length 40 "$T/t.rad" -o "$T/b0.rad"
same "rad-pack: ... that names the way out and leaves no stream" "$(last_stderr; ls "$T" | grep -c b0.rad)" \
	"rad-pack: no batch: all 60 pairs were dropped: 60 too long for --max-length 40 (their prompts fill it: --max-prompt-length N cuts a prompt to N tokens and keeps the pair)
0"
status_is 1 "rad-pack: ... from standard input too" sh -c "rad-pack --max-length 40 < '$T/t.rad'"
same "rad-pack: --max-prompt-length keeps them" "$(rad-pack --max-length 40 --max-prompt-length 20 "$T/t.rad" 2>&1 >/dev/null | wc -c)" "0"
status_is 1 "rad-pack: every pair in a short last batch (--drop-last)" rad-pack -p 64 --drop-last "$T/t.rad"
( rad-relabel "$T/pairs.jsonl" | head -3; echo '{"id":"x","prompt":3}'; echo 'not json' ) > "$T/mixed.jsonl"
rad-tokenize -t "$TOK" -T plain --skip-invalid "$T/mixed.jsonl" 2> "$T/tok.err" > /dev/null
same "rad-tokenize: skipped records are counted in one line without --verbose" "$(cat "$T/tok.err")" \
	"rad-tokenize: 2 of 5 records skipped as invalid (--verbose names them)"
rad-tokenize -t "$TOK" -T plain --skip-invalid --verbose "$T/mixed.jsonl" 2> "$T/tokv.err" > /dev/null
same "rad-tokenize: --verbose names each" "$(grep -c 'skipped$' "$T/tokv.err")" "2"
( echo '{"id":"x","prompt":3}'; echo 'not json' ) > "$T/allbad.jsonl"
status_is 1 "rad-tokenize: every record skipped is a failure" rad-tokenize -t "$TOK" --skip-invalid "$T/allbad.jsonl" -o "$T/tok0.rad"
same "rad-tokenize: ... and leaves no stream" "$(ls "$T" | grep -c tok0.rad)" "0"
status_is 1 "rad-relabel: every pair skipped is a failure" rad-relabel --skip-invalid "$T/allbad.jsonl"
status_is 1 "rad-score-normalize: every record skipped is a failure" rad-score-normalize --skip-invalid "$T/allbad.jsonl"
printf '%s\n' '{"prompt":"q","chosen":"a","rejected":"b","score_chosen":5,"score_rejected":5}' > "$T/tie.jsonl"
status_is 1 "rad-score-normalize: every pair dropped (--ties drop) is a failure" rad-score-normalize --ties drop "$T/tie.jsonl" -o "$T/tie.out"
same "rad-score-normalize: ... counted, and no file left" "$(last_stderr | head -1; ls "$T" | grep -c tie.out)" \
	"rad-score-normalize: 1 of 1 records dropped, 0 invalid skipped, 0 scores clamped into the range (--verbose for reasons)
0"
same "empty input is no failure" "$(rad-relabel < /dev/null; rad-score-normalize < /dev/null; echo $?)" "0"
# rad-eval generate --skip-invalid (what ra-dpo runs): prompts longer than the context
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 24 -o "$T/small" >/dev/null 2>&1
printf '%s\n' '{"id":"s1","prompt":"hi"}' '{"id":"s2","prompt":"ok"}' > "$T/short.jsonl"
rad-relabel --mode none "$T/pairs.jsonl" | jq -c 'select(.prompt[0].content | length > 400)' | head -3 > "$T/long.jsonl"
cat "$T/short.jsonl" "$T/long.jsonl" > "$T/prompts.jsonl"
gen() { rad-eval generate -m "$T/small" --tokenizer "$TOK" --template plain --max-new-tokens 2 --seed 1 --threads 1 --skip-invalid "$@"; }
same "generate: prompts longer than the context are counted without --verbose" \
	"$(gen "$T/prompts.jsonl" 2>&1 >"$T/gen.out"; wc -l < "$T/gen.out")" \
	"rad-eval: 3 of 5 prompts skipped: 3 longer than the model's context of 24 tokens, 0 invalid (--verbose names them)
2"
status_is 1 "generate: an evaluation with no prompt left is a failure" gen "$T/long.jsonl" -o "$T/gen0.out"
same "generate: ... that says so and leaves no file" "$(last_stderr | tail -1; ls "$T" | grep -c gen0.out)" "rad-eval: no responses: all 3 prompts were skipped
0"
# generate: a prompt with a NUL is generated for whole; an id with one is refused
printf '%s\n' '{"id":"n1","prompt":"x\u0000y"}' > "$T/nulgen.jsonl"
same "generate: a prompt with a NUL goes in whole" "$(gen --verbose "$T/nulgen.jsonl" 2>&1 >/dev/null | grep -o '([0-9]* prompt tokens)')" \
	"($(printf 'x\0y\n\n' | rad-tokenize -t "$TOK" --text | wc -w) prompt tokens)"
printf '%s\n' '{"id":"n\u0000a","prompt":"x"}' '{"id":"n\u0000b","prompt":"x"}' > "$T/nulgenid.jsonl"
status_is 1 "generate: ids with a NUL are refused, not cut to one id" rad-eval generate -m "$T/small" --tokenizer "$TOK" --template plain --max-new-tokens 1 "$T/nulgenid.jsonl"
same "generate: ... with the reason" "$(last_stderr)" "rad-eval: $T/nulgenid.jsonl:1: the id or goal holds a NUL character (\u0000)"
# rad-eval prefs: --where that keeps nothing
echo '{"type":"HEAD","kind":"batches","version":1,"fingerprint":"","meta":{}}' > "$T/bt.jsonl"
echo '{"type":"BTCH","rows":2,"cols":3,"tokens":[1,2,3,1,2,4],"targets":[2,3,-1,2,4,-1],"loss_mask":[0,1,0,0,1,0],"segment":[0,0,0,1,1,1],"position":[0,1,2,0,1,2],"seq_row":[0,1],"seq_start":[0,0],"seq_len":[3,3],"seq_pair":[0,0],"seq_chosen":[1,0],"pair_id":["p"],"goal":["g"],"score_chosen":[8.0],"score_rejected":[3.0],"ref_logp":[-1.0,-2.0],"ref_ntok":[1,1]}' >> "$T/bt.jsonl"
rad-dump -e "$T/bt.jsonl" -o "$T/bt.rad"
same "prefs: one pair measured" "$(rad-eval prefs -m "$T/m" "$T/bt.rad" | jq .pairs)" "1"
status_is 1 "prefs: --where that keeps no pair is a failure" rad-eval prefs -m "$T/m" --where 'score_chosen>9' "$T/bt.rad"
same "prefs: ... and says so" "$(last_stderr)" "rad-eval: no pair to measure: --where filtered out all 1"
# a stream made some other way with such strings: the stages that keep ids as C strings
# refuse them (the stream is made here by editing a NUL's place holder in the bytes)
( echo "$H"; echo '{"type":"PAIR","id":"x@a","source_id":"x","half":"","goal":"","score_chosen":1,"score_rejected":1,"prompt":[1],"chosen":[2],"rejected":[3]}' ) | rad-dump -e --level 1 | zstd -dc | sed 's/x@a/x\x00a/' > "$T/nulpair.rad"
same "a PAIR id with a NUL, made by hand" "$(rad-dump "$T/nulpair.rad" | jq -c .id)" '"x\u0000a"'
status_is 1 "rad-pack: a PAIR id with a NUL is refused, not cut" rad-pack "$T/nulpair.rad"
sed 's/"pair_id":\["p"\]/"pair_id":["p@q"]/' "$T/bt.jsonl" | rad-dump -e | zstd -dc | sed 's/p@q/p\x00q/' > "$T/nulbt.rad"
status_is 1 "rad-eval prefs: a batch pair id with a NUL is refused" rad-eval prefs -m "$T/m" "$T/nulbt.rad"
same "rad-eval prefs: ... naming the record" "$(last_stderr)" "rad-eval: $T/nulbt.rad: record 1: BTCH record: string 0 of 'pair_id' holds a NUL"

# --- option values that make no sense are bad usage at the start -----------------------------
for o in "--beta inf" "--beta 0" "--beta -0.1" "--temperature inf" "--temperature -1" "--top-p 0" "--top-score inf" "--judge-timeout inf"; do
	status_is 2 "rad-eval $o" rad-eval summary $o "$T/empty.jsonl"
done
for o in "--round inf" "--round -1" "--scale 1:inf" "--scale nan:1" "--scale 2:2"; do
	status_is 2 "rad-score-normalize $o" rad-score-normalize $o "$T/pairs.jsonl"
done
for o in "--goal inf" "--goal nan" "--goal 11"; do
	status_is 2 "rad-relabel $o" rad-relabel $o "$T/pairs.jsonl"
done

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
	"$(rad-score-normalize --scale-by linear --from 0:1 --out-of-range drop "$T/rm.jsonl" 2>&1 >/dev/null | head -1)" \
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
