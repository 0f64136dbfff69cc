# rad-dump: JSON out, --encode back, --head, --stats, concatenation, bad input.
. "$(dirname "$0")/lib.sh"

cat > "$T/p.jsonl" <<'J'
{"type":"HEAD","kind":"pairs","version":1,"fingerprint":"f00d","meta":{"tokenizer":"test"}}
{"type":"PAIR","id":"a#pos","source_id":"a","half":"pos","goal":"Overall score: 8.","score_chosen":8.0,"score_rejected":7.5,"prompt":[1,2,3],"chosen":[4,5],"rejected":[6]}
{"type":"PAIR","id":"a#neg","source_id":"a","half":"neg","goal":"Overall score: 7.5.","score_chosen":7.5,"score_rejected":8.0,"prompt":[1,2],"chosen":[6],"rejected":[4,5]}
{"type":"PAIR","id":"b","source_id":"b","half":"","goal":"","score_chosen":null,"score_rejected":2.0,"prompt":[],"chosen":[9],"rejected":[]}
J
ok_if "encode" rad-dump --encode -o "$T/p.rad" "$T/p.jsonl"
same "round trip is exact" "$(rad-dump --header "$T/p.rad")" "$(cat "$T/p.jsonl")"
same "stdin and - are the same" "$(rad-dump - < "$T/p.rad")" "$(rad-dump "$T/p.rad")"
same "--head 2" "$(rad-dump --head 2 "$T/p.rad" | wc -l)" "2"
same "--head 0" "$(rad-dump -n 0 "$T/p.rad" | wc -c)" "0"
cat "$T/p.rad" "$T/p.rad" > "$T/pp.rad"
same "concatenated streams read as one" "$(rad-dump "$T/pp.rad" | wc -l)" "6"
same "several files read as one" "$(rad-dump "$T/p.rad" "$T/p.rad" | jq -r .id | tr '\n' ' ')" "a#pos a#neg b a#pos a#neg b "
same "--stats counts records" "$(rad-dump --stats "$T/pp.rad" | jq -c '[.records.PAIR, .lengths["PAIR.prompt"].max, .lengths["PAIR.chosen"].mean]')" "[6,3,1.3333333333333333]"
same "--kind accepts the right kind" "$(rad-dump --kind pairs "$T/p.rad" | wc -l)" "3"
status_is 1 "--kind refuses another kind" rad-dump --kind batches "$T/p.rad"
same "kind message names both" "$(last_stderr)" "rad-dump: $T/p.rad: a stream of pairs, expected batches"

# Edit a record with jq and encode it back: the stream is a jq-able format.
rad-dump --header "$T/p.rad" | jq -c 'if .type == "PAIR" then .goal = "edited" else . end' | rad-dump -e > "$T/e.rad"
same "jq edit survives encode" "$(rad-dump "$T/e.rad" | jq -r .goal | sort -u)" "edited"

# Different fingerprints do not concatenate.
sed 's/f00d/beef/' "$T/p.jsonl" | rad-dump -e > "$T/q.rad"
cat "$T/p.rad" "$T/q.rad" > "$T/pq.rad"
status_is 1 "disagreeing headers refused" rad-dump "$T/pq.rad"
same "disagreement message names both" "$(last_stderr)" "rad-dump: $T/pq.rad: record 4: concatenated streams disagree: pairs stream (fingerprint 'beef') after pairs stream (fingerprint 'f00d')"

# Bad inputs: exit 1 with a message naming the input, never a crash.
head -c 40 "$T/p.rad" > "$T/cut.rad"
status_is 1 "truncated stream" rad-dump "$T/cut.rad"
status_is 1 "plain text" rad-dump "$T/p.jsonl"
same "plain text message" "$(last_stderr)" "rad-dump: $T/p.jsonl: not a rad stream: it does not start with a stream header (the input is not zstd-compressed: plain text or JSONL?)"
printf 'hello' | zstd -q > "$T/hello.zst"
status_is 1 "foreign zstd" rad-dump "$T/hello.zst"
status_is 1 "empty input" rad-dump /dev/null
status_is 1 "missing file" rad-dump "$T/nope.rad"
status_is 2 "unknown option" rad-dump --frobnicate
status_is 2 "bad --head" rad-dump --head=-1
echo '{"type":"PAIR","prompt":[1.5]}' > "$T/bad.jsonl"
status_is 1 "encode refuses a real in a token array" rad-dump -e --kind pairs "$T/bad.jsonl"
same "encode error names the line" "$(last_stderr)" "rad-dump: $T/bad.jsonl:1: field 'prompt': element 0 does not fit i32"
status_is 1 "encode without header or --kind" rad-dump -e "$T/bad.jsonl"
ok_if "--help" rad-dump --help
same "--version" "$(rad-dump --version)" "rad-dump (rad) 0.1.0"

# A batch record through dump and encode, with the padding statistics.
cat > "$T/b.jsonl" <<'J'
{"type":"BTCH","rows":1,"cols":4,"tokens":[1,2,3,0],"targets":[2,3,-1,-1],"loss_mask":[0,1,0,0],"segment":[0,0,0,-1],"position":[0,1,2,0],"seq_row":[0],"seq_start":[0],"seq_len":[3],"seq_pair":[0],"seq_chosen":[1],"pair_id":["x"],"goal":[""],"score_chosen":[1.0],"score_rejected":[0.5]}
J
ok_if "encode a batch" rad-dump -e --kind batches -o "$T/b.rad" "$T/b.jsonl"
same "batch round trip" "$(rad-dump "$T/b.rad")" "$(cat "$T/b.jsonl")"
same "padding fraction" "$(rad-dump -s "$T/b.rad" | jq .padding_fraction)" "0.25"

# --tokenizer: the decoded text of a tokenized pair is what the template rendered.
tok=$DATA/tokenizers/gpt2/encoder.json
head -4 "$DATA/uf_binarized_trl_head30.jsonl" | rad-score-normalize 2>/dev/null | rad-relabel > "$T/rl.jsonl"
rad-tokenize --tokenizer "$tok" --template zephyr "$T/rl.jsonl" > "$T/t.rad"
rad-tokenize --tokenizer "$tok" --template zephyr --render "$T/rl.jsonl" | jq -c '[.prompt + .chosen, .prompt + .rejected]' > "$T/want"
rad-dump -t "$tok" "$T/t.rad" | jq -c '[.prompt_text + .chosen_text, .prompt_text + .rejected_text]' > "$T/got"
same "--tokenizer decodes pairs to the rendered text" "$(cat "$T/got")" "$(cat "$T/want")"
same "--tokenizer on 8 pairs" "$(wc -l < "$T/got")" "8"
rad-pack --pairs 2 "$T/t.rad" 2>/dev/null > "$T/b.rad"
rad-dump -t "$tok" "$T/b.rad" | jq -r '.seq_text[]' | sort > "$T/got2"
jq -r '.[]' "$T/want" | sort > "$T/want2"
same "--tokenizer decodes every batch sequence" "$(md5sum < "$T/got2")" "$(md5sum < "$T/want2")"
