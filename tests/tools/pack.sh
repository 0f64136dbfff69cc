#!/usr/bin/env bash
# rad-pack: batches of whole pairs, masks and counts checked against the pairs that went
# in, truncation, the plan in the header, determinism, shuffling, bad input.
. "$(dirname "$0")/lib.sh"

# N pairs as rad-dump JSON: pair k has a prompt of 1 + (7k mod 13) tokens and completions
# of 1 + (5k mod 11) and 1 + (3k mod 17) tokens; token ids encode (k, part, index).
gen() {   # gen N [reverse]
	awk -v n="$1" -v rev="${2:-0}" 'BEGIN {
		print "{\"type\":\"HEAD\",\"kind\":\"pairs\",\"version\":1,\"fingerprint\":\"f00d\",\"meta\":{\"gen\":\"pack.sh\"}}"
		for (i = 0; i < n; i++) {
			k = rev ? n - 1 - i : i
			np = 1 + (7 * k) % 13; nc = 1 + (5 * k) % 11; nr = 1 + (3 * k) % 17
			printf "{\"type\":\"PAIR\",\"id\":\"p%d\",\"source_id\":\"s%d\",\"half\":\"pos\",\"goal\":\"g%d\",", k, k, k % 3
			printf "\"score_chosen\":%d,\"score_rejected\":%d,", 5 + k % 5, k % 5
			for (part = 0; part < 3; part++) {
				len = part == 0 ? np : part == 1 ? nc : nr
				printf "\"%s\":[", part == 0 ? "prompt" : part == 1 ? "chosen" : "rejected"
				for (j = 0; j < len; j++) printf "%s%d", j ? "," : "", 10000 * k + 1000 * part + j + 1
				printf "]%s", part < 2 ? "," : "}\n"
			}
		}
	}'
}
gen 40 | rad-dump --encode -o "$T/p.rad"
gen 40 1 | rad-dump --encode -o "$T/rev.rad"

# Expected totals from the generator: tokens = sum of both sequences, loss tokens = both
# completions (every prompt has a token, so every completion token is predicted).
want_tokens=0 want_loss=0
for ((k = 0; k < 40; k++)); do
	np=$((1 + 7 * k % 13)) nc=$((1 + 5 * k % 11)) nr=$((1 + 3 * k % 17))
	want_tokens=$((want_tokens + 2 * np + nc + nr)) want_loss=$((want_loss + nc + nr))
done

# --- padded batches ---------------------------------------------------------------------
ok_if "pack padded" rad-pack --pairs 6 -o "$T/b.rad" --plan "$T/plan.json" "$T/p.rad"
rad-dump "$T/b.rad" > "$T/b.jsonl"
same "padded: 7 batches of at most 6 pairs" "$(jq -c '.pair_id | length' "$T/b.jsonl" | tr '\n' ' ')" "6 6 6 6 6 6 4 "
same "padded: rows = 2 x pairs" "$(jq -c 'select(.rows != 2 * (.pair_id | length))' "$T/b.jsonl" | wc -l)" "0"
same "padded: every pair once, in order" "$(jq -r '.pair_id[]' "$T/b.jsonl" | tr '\n' ' ')" "$(seq -f 'p%g' 0 39 | tr '\n' ' ')"
same "padded: loss tokens = completion tokens" "$(jq -s '[.[].loss_mask[]] | add' "$T/b.jsonl")" "$want_loss"
same "padded: real tokens" "$(jq -s '[.[].segment[] | select(. >= 0)] | length' "$T/b.jsonl")" "$want_tokens"
# A target is the next token of its own sequence, -1 at its end and on padding.
same "padded: targets shift within each sequence" "$(jq -c '. as $b | [range(0; .rows * .cols) |
	select($b.segment[.] >= 0 and $b.targets[.] != (if . + 1 < ($b.rows * $b.cols) and $b.segment[. + 1] == $b.segment[.] then $b.tokens[. + 1] else -1 end))] | length' "$T/b.jsonl" | sort -u)" "0"
# The mask covers exactly the completion: a masked target's id has part 1 or 2 (chosen or
# rejected), an unmasked real target part 0 (prompt).
same "padded: mask = completion targets" "$(jq -c '. as $b | [range(0; .rows * .cols) | select($b.targets[.] >= 0) |
	select((($b.targets[.] % 10000 / 1000 | floor) > 0) != ($b.loss_mask[.] == 1))] | length' "$T/b.jsonl" | sort -u)" "0"
same "padded: chosen rows hold chosen tokens" "$(jq -c '. as $b | [range(0; .rows) | select($b.seq_chosen[.] == 1) |
	$b.tokens[. * $b.cols + $b.seq_len[.] - 1] % 10000 / 1000 | floor] | unique' "$T/b.jsonl" | sort -u)" "[1]"
same "plan file: batches" "$(jq .batches "$T/plan.json")" "7"
same "plan file: tokens" "$(jq .tokens "$T/plan.json")" "$want_tokens"
same "header: batches known from a file" "$(rad-dump -H "$T/b.rad" | head -n 1 | jq -c '.meta | [.batches, .steps, .pairs]')" "[7,7,40]"
same "header: fingerprint passed on" "$(rad-dump -H "$T/b.rad" | head -n 1 | jq -r .fingerprint)" "f00d"
cells=$(jq -s '[.[] | .rows * .cols] | add' "$T/b.jsonl")
same "plan: padding = cells - tokens" "$(jq .padding "$T/plan.json")" "$((cells - want_tokens))"

# Round trip: the JSON rad-dump prints encodes back to the same bytes.
rad-dump -H "$T/b.rad" | rad-dump --encode -o "$T/back.rad"
ok_if "round trip through rad-dump" cmp -s "$T/b.rad" "$T/back.rad"

ok_if "pack --pad-multiple 8" rad-pack --pairs 6 --pad-multiple 8 -o "$T/b8.rad" "$T/p.rad"
same "pad-multiple: widths divisible by 8" "$(rad-dump "$T/b8.rad" | jq '.cols % 8' | sort -u)" "0"

# --- packed batches ---------------------------------------------------------------------
ok_if "pack --max-tokens" rad-pack --max-tokens 64 -o "$T/t.rad" "$T/p.rad"
rad-dump "$T/t.rad" > "$T/t.jsonl"
same "tokens: one row each, at most 64" "$(jq -c 'select(.rows != 1 or .cols > 64)' "$T/t.jsonl" | wc -l)" "0"
same "tokens: no padding" "$(jq -s '[.[].segment[] | select(. < 0)] | length' "$T/t.jsonl")" "0"
same "tokens: every pair once" "$(jq -r '.pair_id[]' "$T/t.jsonl" | sort | tr '\n' ' ')" "$(seq -f 'p%g' 0 39 | sort | tr '\n' ' ')"
same "tokens: several pairs share a row" "$(jq -s 'map(.pair_id | length) | max > 1' "$T/t.jsonl")" "true"
same "tokens: positions restart at every segment" "$(jq -c '. as $b | [range(0; .cols) | select($b.position[.] != (if . == 0 or $b.segment[. - 1] != $b.segment[.] then 0 else $b.position[. - 1] + 1 end))] | length' "$T/t.jsonl" | sort -u)" "0"
same "tokens: loss tokens kept" "$(jq -s '[.[].loss_mask[]] | add' "$T/t.jsonl")" "$want_loss"
ok_if "pack --pairs --max-tokens" rad-pack --pairs 8 --max-tokens 48 -o "$T/pt.rad" "$T/p.rad"
same "pairs+tokens: 8 pairs per batch, rows of 48" "$(rad-dump "$T/pt.rad" | jq -c '[(.pair_id | length), (.cols <= 48)]' | sort -u | tr '\n' ' ')" "[8,true] "

# --- truncation -------------------------------------------------------------------------
# Pair 1: prompt 8, chosen 6, rejected 4.  max-length 10, max-prompt-length 4: 8 + 6 > 10,
# the prompt keeps its last 4 tokens (10005..10008); 4 + 6 > 10 is false: no completion cut.
rad-pack --pairs 1 --max-length 10 --max-prompt-length 4 "$T/p.rad" | rad-dump | jq -c 'select(.pair_id[0] == "p1") | .tokens[0:10]' > "$T/cut"
same "truncation: prompt cut from the left" "$(cat "$T/cut")" "[10005,10006,10007,10008,11001,11002,11003,11004,11005,11006]"
rad-pack --pairs 1 --max-length 10 --max-prompt-length 4 --truncation keep_start "$T/p.rad" | rad-dump | jq -c 'select(.pair_id[0] == "p1") | .tokens[0:4]' > "$T/cut"
same "truncation: keep_start keeps the first tokens" "$(cat "$T/cut")" "[10001,10002,10003,10004]"
# Pair 5: prompt 10, chosen 4, rejected 16 -> prompt 4, completions cut to 10 - 4 = 6.
rad-pack --pairs 1 --max-length 10 --max-prompt-length 4 "$T/p.rad" | rad-dump | jq -c 'select(.pair_id[0] == "p5") | .seq_len' > "$T/cut"
same "truncation: completions cut to max-length - max-prompt-length" "$(cat "$T/cut")" "[8,10]"
rad-pack --verbose --max-length 10 --max-prompt-length 4 --overflow drop --plan "$T/dp.json" "$T/p.rad" > /dev/null 2> "$T/err"
long=$(jq .dropped_too_long "$T/dp.json")
same "overflow drop: pairs counted" "$(jq '.pairs + .dropped_too_long' "$T/dp.json")" "40"
same "overflow drop: summary names them" "$(grep -c "dropped $long too long" "$T/err")" "1"
same "overflow drop: some dropped" "$([ "$long" -gt 0 ] && echo yes)" "yes"

# --- order ------------------------------------------------------------------------------
rad-pack --pairs 4 --seed 3 --shuffle-buffer 8 "$T/p.rad" > "$T/s1.rad"
rad-pack --pairs 4 --seed 3 --shuffle-buffer 8 "$T/p.rad" > "$T/s2.rad"
rad-pack --pairs 4 --seed 4 --shuffle-buffer 8 "$T/p.rad" > "$T/s3.rad"
ok_if "shuffle: same seed, same bytes" cmp -s "$T/s1.rad" "$T/s2.rad"
status_is 1 "shuffle: another seed, other bytes" cmp -s "$T/s1.rad" "$T/s3.rad"
same "shuffle: still every pair once" "$(rad-dump "$T/s1.rad" | jq -r '.pair_id[]' | sort | tr '\n' ' ')" "$(seq -f 'p%g' 0 39 | sort | tr '\n' ' ')"
rad-pack --pairs 4 --full-shuffle "$T/p.rad" > "$T/f1.rad"
rad-pack --pairs 4 --full-shuffle "$T/rev.rad" > "$T/f2.rad"
ok_if "full shuffle: input order does not matter" cmp -s "$T/f1.rad" "$T/f2.rad"
rad-pack --pairs 4 --epochs 2 --full-shuffle --plan "$T/e.json" "$T/p.rad" | rad-dump > "$T/e.jsonl"
same "epochs: every pair twice" "$(jq -r '.pair_id[]' "$T/e.jsonl" | sort | uniq -c | awk '{print $1}' | sort -u)" "2"
same "epochs: batches tagged with epoch" "$(jq -c '.epoch' "$T/e.jsonl" | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')" "10x0 10x1 "
same "epochs: orders differ" "$([ "$(jq -c 'select(.epoch == 0) | .pair_id' "$T/e.jsonl")" != "$(jq -c 'select(.epoch == 1) | .pair_id' "$T/e.jsonl")" ] && echo yes)" "yes"
same "epochs: plan" "$(jq -c '[.batches, .batches_per_epoch]' "$T/e.json")" "[20,[10,10]]"
# Standard input, several epochs: spooled, so the header still knows the count.
rad-pack --pairs 4 --epochs 3 --shuffle-buffer 5 < "$T/p.rad" > "$T/in3.rad"
same "stdin epochs: header count" "$(rad-dump -H "$T/in3.rad" | head -n 1 | jq .meta.batches)" "30"
same "stdin epochs: records" "$(rad-dump "$T/in3.rad" | wc -l)" "30"
# One epoch streamed from standard input: the header cannot know; --plan does.
rad-pack --pairs 4 --plan "$T/sp.json" < "$T/p.rad" > "$T/st.rad"
same "streaming: header count null" "$(rad-dump -H "$T/st.rad" | head -n 1 | jq .meta.batches)" "null"
same "streaming: plan count" "$(jq .batches "$T/sp.json")" "10"
same "streaming: same batches as from a file" "$(rad-dump "$T/st.rad" | md5sum)" "$(rad-pack --pairs 4 "$T/p.rad" | rad-dump | md5sum)"
same "dry run: the plan on stdout" "$(rad-pack --pairs 4 --dry-run "$T/p.rad" | jq -c '[.batches, .pairs, .tokens]')" "[10,40,$want_tokens]"
ok_if "drop-last" rad-pack --pairs 6 --drop-last --plan "$T/dl.json" -o "$T/dl.rad" "$T/p.rad"
same "drop-last: counted" "$(jq -c '[.batches, .dropped_last]' "$T/dl.json")" "[6,4]"

# Length grouping lowers padding on these lengths (a fixed data set, not a timing).
g0=$(rad-pack --pairs 4 --dry-run "$T/p.rad" | jq .padding)
g1=$(rad-pack --pairs 4 --group-by-length 40 --dry-run "$T/p.rad" | jq .padding)
same "grouping: less padding ($g1 < $g0)" "$([ "$g1" -lt "$g0" ] && echo yes)" "yes"

# --- bad input and usage ----------------------------------------------------------------
status_is 1 "batches stream as input" rad-pack "$T/b.rad"
status_is 1 "plain text input" rad-pack "$T/plan.json"
gen 3 | sed 's/"prompt":\[20001/"prompt":[-5/' | rad-dump --encode -o "$T/neg.rad"
status_is 1 "negative token id" rad-pack "$T/neg.rad"
same "negative token id: named" "$(last_stderr | grep -c 'record 3: negative token id -5')" "1"
head -c 200 "$T/p.rad" > "$T/trunc.rad"
status_is 1 "truncated stream" rad-pack "$T/trunc.rad"
status_is 2 "bad --truncation" rad-pack --truncation middle "$T/p.rad"
status_is 2 "prompt limit leaves no room" rad-pack --max-length 8 --max-prompt-length 8 "$T/p.rad"
status_is 2 "drop-last without pairs" rad-pack --max-tokens 64 --drop-last "$T/p.rad"

# --- real data: the UltraFeedback sample through the pipeline ---------------------------
uf=${SHARED:+$SHARED/ultrafeedback_binarized_trl_eval200.jsonl}
if [ -z "$uf" ] || [ ! -f "$uf" ]; then
	skip "real pairs" "shared data absent"
elif ! command -v rad-tokenize > /dev/null || ! command -v rad-relabel > /dev/null || ! command -v rad-score-normalize > /dev/null; then
	skip "real pairs" "rad-score-normalize, rad-relabel or rad-tokenize not built"
elif ! rad-score-normalize "$uf" | rad-relabel | rad-tokenize --tokenizer "$SHARED/tokenizers/gpt2/encoder.json" \
	--template zephyr -o "$T/uf.rad" 2> "$T/err"; then
	skip "real pairs" "could not tokenize: $(head -c 200 "$T/err")"
else
	rad-pack --pairs 8 --max-length 1024 --max-prompt-length 512 --plan "$T/uf.json" "$T/uf.rad" | rad-dump > "$T/uf.jsonl"
	same "real: every pair read" "$(jq .pairs_read "$T/uf.json")" "$(rad-dump "$T/uf.rad" | wc -l)"
	same "real: every pair kept or counted" "$(jq '.pairs + .dropped_too_long + .dropped_empty - .pairs_read' "$T/uf.json")" "0"
	same "real: mask sum = loss tokens" "$(jq -s '[.[].loss_mask[]] | add' "$T/uf.jsonl")" "$(jq .loss_tokens "$T/uf.json")"
	same "real: sequences within 1024" "$(jq -s '[.[].seq_len[]] | max <= 1024' "$T/uf.jsonl")" "true"
	same "real: some prompts cut" "$(jq '.truncated_prompt > 0' "$T/uf.json")" "true"
	# Completion tokens kept: each sequence's masked targets are the end of its tokens.
	same "real: masked targets are each sequence's tail" "$(jq -c '. as $b | [range(0; .seq_len | length) as $s |
		($b.seq_row[$s] * $b.cols + $b.seq_start[$s]) as $o | [range($o; $o + $b.seq_len[$s]) | $b.loss_mask[.]] |
		(index([1]) // -1) as $f | select(($f >= 0 and .[-1] == 0 and (.[$f:-1] | all(. == 1))) | not)] | length' "$T/uf.jsonl" | sort -u)" "0"
fi

[ "$_fails" -eq 0 ]
