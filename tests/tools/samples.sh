#!/usr/bin/env bash
# rad-eval generate --samples K, reward and judge on several responses per prompt: the K
# responses share one prefill (greedy, all K equal the one response of a plain run, so the
# copied keys and values are the prefill's), response 0 is the plain run's, the bytes do
# not depend on batch size, threads or how the input is split, --group holds the same
# responses, and reward and judge score each of them.
. "$(dirname "$0")/lib.sh"
TOK=$TOP/pipelines/demo/tokenizer.json
R=$TOP/build/opt/pipelines/demo/reversal
rad-init --tokenizer "$TOK" --layers 2 --heads 2 --dim 16 --context 96 --seed 3 -o "$T/lm" 2>/dev/null
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 96 --seed 4 --reward-head 1 -o "$T/rm" 2>/dev/null
rad-init --arch llama --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 96 --seed 5 \
	--reward-head helpfulness,correctness -o "$T/rm2" 2>/dev/null
for i in 1 2 3 4 5 6 7; do printf '{"id":"p%d","prompt":"%d%d%d456789"}\n' "$i" "$i" "$i" "$i"; done >"$T/p.jsonl"
gen() { rad-eval generate -m "$T/lm" --max-new-tokens 8 "$@"; }

gen --temperature 0 "$T/p.jsonl" >"$T/greedy1"
gen --temperature 0 --samples 3 "$T/p.jsonl" >"$T/greedy3"
same "samples: greedy, each of 3 responses is the plain run's" \
	"$(jq -c '{id, response}' "$T/greedy3" | sort | uniq -c | awk '{ print $1 }' | sort -u)" 3
same "samples: greedy, the same responses as the plain run" \
	"$(jq -r '[.id, .response] | @tsv' "$T/greedy3" | sort -u)" "$(jq -r '[.id, .response] | @tsv' "$T/greedy1" | sort)"

gen --seed 9 "$T/p.jsonl" >"$T/plain"
gen --seed 9 --samples 4 "$T/p.jsonl" >"$T/s4"
same "samples: 4 lines per prompt, sample 0..3 of 4, in input order" \
	"$(jq -r '"\(.id):\(.sample)/\(.samples)"' "$T/s4" | head -5 | tr '\n' ' ')" "p1:0/4 p1:1/4 p1:2/4 p1:3/4 p2:0/4 "
same "samples: response 0 is the plain run's response" \
	"$(jq -c 'select(.sample == 0) | del(.sample, .samples)' "$T/s4")" "$(cat "$T/plain")"
same "samples: the 4 draws of a prompt differ" "$(jq -r 'select(.id == "p3") | .response' "$T/s4" | sort -u | wc -l)" 4
gen --seed 9 --samples 1 "$T/p.jsonl" >"$T/s1"
same "samples: --samples 1 is the plain run with a sample field" "$(jq -c 'del(.sample, .samples)' "$T/s1")" "$(cat "$T/plain")"
gen --seed 9 --samples 4 --batch-size 1 --threads 1 "$T/p.jsonl" >"$T/b1"
gen --seed 9 --samples 4 --batch-size 5 --threads 2 "$T/p.jsonl" >"$T/b5"
{ head -3 "$T/p.jsonl" | gen --seed 9 --samples 4; tail -n +4 "$T/p.jsonl" | gen --seed 9 --samples 4; } >"$T/split"
same "samples: the same bytes with batch size 1 and 5, 1 and 2 threads, and split input" \
	"$(cmp "$T/s4" "$T/b1" && cmp "$T/s4" "$T/b5" && cmp "$T/s4" "$T/split" && echo same)" same
gen --seed 9 --samples 4 --group "$T/p.jsonl" >"$T/g4"
same "samples: --group is one line per prompt holding the same responses" \
	"$(jq -c '. as $r | .responses[] | {id: $r.id, sample, response}' "$T/g4")" "$(jq -c '{id, sample, response}' "$T/s4")"

# reward: a score on each response, the same grouped or not; named labels from id2label
rad-eval reward -m "$T/rm" --tokenizer "$TOK" "$T/s4" >"$T/r4"
rad-eval reward -m "$T/rm" --tokenizer "$TOK" "$T/g4" >"$T/rg4"
same "reward: one score per response" "$(jq -s 'map(select(.score | type == "number")) | length' "$T/r4")" 28
same "reward: grouped responses get the same scores" "$(jq -c '.responses[].score' "$T/rg4")" "$(jq -c .score "$T/r4")"
rad-eval reward -m "$T/rm2" --tokenizer "$TOK" "$T/s4" >"$T/r24"
same "reward: several labels as named scores" "$(head -1 "$T/r24" | jq -c '.scores | keys_unsorted')" '["helpfulness","correctness"]'
status_is 1 "reward: a language model is refused" rad-eval reward -m "$T/lm" --tokenizer "$TOK" "$T/s4"
same "reward: it says what a reward model is" "$(last_stderr | grep -c 'ForSequenceClassification')" 1
status_is 1 "generate: a reward model is refused" rad-eval generate -m "$T/rm" --tokenizer "$TOK" "$T/p.jsonl"
printf '{"id":"x","prompt":"1"}\n' >"$T/bad.jsonl"
status_is 1 "reward: a record without a response" rad-eval reward -m "$T/rm" --tokenizer "$TOK" "$T/bad.jsonl"
same "reward: the message names the line" "$(last_stderr | grep -c 'bad.jsonl:1: no string "response"')" 1
cat "$T/bad.jsonl" "$T/s4" | rad-eval reward -m "$T/rm" --tokenizer "$TOK" --skip-invalid >"$T/skip" 2>"$T/skip.err"
same "reward: --skip-invalid counts and goes on" "$(wc -l <"$T/skip") $(grep -c '1 records skipped' "$T/skip.err")" "28 1"
status_is 2 "rad-init: --reward-head 0" rad-init --vocab 8 --reward-head 0 -o "$T/x"
status_is 2 "rad-init: --reward-head with a name twice" rad-init --vocab 8 --reward-head a,b,a -o "$T/x"
status_is 2 "generate: --samples is for generate" rad-eval reward -m "$T/rm" --samples 2 "$T/s4"

# judge: each of a prompt's responses is its own request ("ID#K"), written back whole
if [ -x "$R" ]; then
	rad-eval judge --judge "$R judge" "$T/s4" >"$T/j4"
	same "judge: every response scored, its record kept" \
		"$(jq -c '[.id, .sample, (.score | type)]' "$T/j4" | sort | head -2 | tr '\n' ' ')" '["p1",0,"number"] ["p1",1,"number"] '
	same "judge: the summary counts each response" "$(rad-eval summary "$T/j4" | jq '.files[0].records')" 28
	status_is 1 "judge: grouped responses are refused" rad-eval judge --judge "$R judge" "$T/g4"
else
	skip "judge of samples" "build/opt/pipelines/demo/reversal not built"
fi
