# rad-eval: every mode on tiny models made by rad-init, checked against values computed
# here by hand (jq over rad-dump) or by construction; the judge protocol through shell
# script judges that work, crash, hang and print garbage.
. "$(dirname "$0")/lib.sh"

close() { awk -v a="$1" -v b="$2" -v t="${3:-1e-6}" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
near() { if close "$2" "$3" "${4:-1e-6}"; then echo "ok $1"; else echo "FAIL $1: got $2, want $3"; _fails=$((_fails + 1)); fi; }

# ---- batches: prefs and likelihood ---------------------------------------------------
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 1 -o "$T/ref" 2>/dev/null
rad-init --vocab 64 --layers 2 --heads 2 --dim 16 --context 32 --seed 2 -o "$T/pol" 2>/dev/null
# toy batches; rejected scores 6,7,8,9 and goals "g hi"/"g lo" alternating within a batch
awk -v seed=5 -v n=3 -v pairs=4 -v vocab=64 -f "$TOP/tests/tools/gen_batches.awk" |
	jq -c 'if .type == "BTCH" then .score_rejected = [range(.rows) | . + 6] |
	       .goal = [range(.rows) | if . % 2 == 0 then "g hi" else "g lo" end] else . end' |
	rad-dump --encode > "$T/b.rad"
rad-logps -m "$T/ref" "$T/b.rad" > "$T/br.rad"
rad-logps -m "$T/pol" "$T/b.rad" > "$T/bp.rad"
# one line per pair: policy chosen, policy rejected, ref chosen, ref rejected, their tokens, goal, score_rejected
pairs() {
	rad-dump "$1" | jq -r 'select(.type == "BTCH") | . as $b | range(.seq_pair | length) |
		select($b.seq_chosen[.] == 1) | [$b.ref_logp[.], $b.ref_logp[. + 1], $b.ref_ntok[.], $b.ref_ntok[. + 1],
		$b.goal[$b.seq_pair[.]], $b.score_rejected[$b.seq_pair[.]]] | @tsv'
}
pairs "$T/bp.rad" > "$T/pp.tsv"
pairs "$T/br.rad" > "$T/pr.tsv"
paste "$T/pp.tsv" "$T/pr.tsv" | cut -f1-6,7,8 > "$T/both.tsv"   # pc pr ntc ntr goal sr rc rr
rad-eval prefs -m "$T/pol" --beta 0.5 "$T/br.rad" > "$T/prefs.json"
want=$(awk -F'\t' '{ wc = 0.5 * ($1 - $7); wr = 0.5 * ($2 - $8); m = wc - wr; n++; acc += wc > wr; mg += m;
	loss += log(1 + exp(-m)); c += wc; r += wr; lc += $1 }
	END { printf "%.9f %.9f %.9f %.9f %.9f %.9f", acc / n, mg / n, loss / n, c / n, r / n, lc / n }' "$T/both.tsv")
set -- $want
o=$(jq -c .overall "$T/prefs.json")
same "prefs: every pair counted" "$(jq .pairs "$T/prefs.json")" "12"
near "prefs: rewards/accuracies by hand" "$(jq '.overall["rewards/accuracies"]' "$T/prefs.json")" "$1"
near "prefs: rewards/margins by hand" "$(jq '.overall["rewards/margins"]' "$T/prefs.json")" "$2" 1e-5
near "prefs: loss by hand" "$(jq .overall.loss "$T/prefs.json")" "$3" 1e-5
near "prefs: rewards/chosen by hand" "$(jq '.overall["rewards/chosen"]' "$T/prefs.json")" "$4" 1e-5
near "prefs: rewards/rejected by hand" "$(jq '.overall["rewards/rejected"]' "$T/prefs.json")" "$5" 1e-5
near "prefs: logps/chosen by hand" "$(jq '.overall["logps/chosen"]' "$T/prefs.json")" "$6" 1e-4
want_lo=$(awk -F'\t' '$5 == "g lo" { wc = 0.5 * ($1 - $7); wr = 0.5 * ($2 - $8); n++; mg += wc - wr } END { printf "%.9f", mg / n }' "$T/both.tsv")
near "prefs: margins of one goal by hand" "$(jq '.by_goal["g lo"]["rewards/margins"]' "$T/prefs.json")" "$want_lo" 1e-5
same "prefs: by goal and by gap" "$(jq -c '[(.by_goal | keys), (.by_gap | keys), ([.by_goal[].pairs] | add)]' "$T/prefs.json")" '[["g hi","g lo"],["-1","0","1","2"],12]'
# the policy as its own reference: every reward 0, loss log 2
rad-eval prefs -m "$T/ref" "$T/br.rad" > "$T/self.json"
same "prefs: policy = reference gives zero rewards" "$(jq -c '[.overall["rewards/accuracies"], .overall["rewards/margins"]]' "$T/self.json")" "[0,0]"
near "prefs: policy = reference gives loss log 2" "$(jq .overall.loss "$T/self.json")" 0.69314718 1e-7
status_is 1 "prefs: batches without reference log-probs" rad-eval prefs -m "$T/pol" "$T/b.rad"
same "prefs: the message says what to run" "$(last_stderr | grep -c 'rad-logps')" "1"

# likelihood of the high-quality rejected (score_rejected >= 8): two models side by side
rad-eval likelihood -m "$T/ref" -m "$T/pol" --where 'score_rejected>=8' "$T/br.rad" > "$T/lik.json"
want=$(awk -F'\t' '$6 >= 8 { n++; pr += $2; tr += $4; rr += $8 } END { printf "%d %.9f %.9f %.9f", n, pr / n, pr / tr, rr / n }' "$T/both.tsv")
set -- $want
same "likelihood: --where keeps the pairs asked for" "$(jq -c '[.pairs, .filtered_out]' "$T/lik.json")" "[$1,$((12 - $1))]"
near "likelihood: rejected log-prob by hand" "$(jq '.models[1].rejected.logp' "$T/lik.json")" "$2" 1e-4
near "likelihood: rejected per-token log-prob by hand" "$(jq '.models[1].rejected.logp_per_token' "$T/lik.json")" "$3" 1e-5
near "likelihood: the first model is the reference" "$(jq '.models[0].rejected.logp' "$T/lik.json")" "$4" 1e-4
near "likelihood: reference from the stream" "$(jq '.reference.rejected.logp' "$T/lik.json")" "$4" 1e-6
near "likelihood: difference is second minus first" "$(jq '.difference.rejected.logp' "$T/lik.json")" \
	"$(jq '.models[1].rejected.logp - .models[0].rejected.logp' "$T/lik.json")" 1e-5
same "likelihood: two filters and" "$(rad-eval likelihood -m "$T/ref" --where 'score_rejected>=8' --where 'goal==g lo' "$T/br.rad" | jq .pairs)" \
	"$(awk -F'\t' '$6 >= 8 && $5 == "g lo"' "$T/both.tsv" | wc -l)"
status_is 2 "likelihood: a bad --where is a usage error" rad-eval likelihood -m "$T/ref" --where 'score>=8' "$T/br.rad"
status_is 2 "no mode" rad-eval -m "$T/ref"
status_is 2 "unknown mode" rad-eval frobnicate

# ---- generation ------------------------------------------------------------------------
TINY=$TOP/tests/data/tokenizers/tiny/tokenizer.json
rad-init --tokenizer "$TINY" --layers 2 --heads 2 --dim 32 --context 96 --seed 3 -o "$T/m" 2>/dev/null
for i in $(seq 1 12); do
	printf '{"id":"q%d#pos","goal":"Overall score: %d.","prompt":[{"role":"system","content":"Overall score: %d."},{"role":"user","content":"Tell me about %d."}]}\n' \
		"$i" $((i % 3 + 8)) $((i % 3 + 8)) "$i"
done > "$T/prompts.jsonl"
gen() { rad-eval generate -m "$T/m" --max-new-tokens 24 --threads 1 "$@"; }
gen --seed 7 --verbose "$T/prompts.jsonl" > "$T/g1.jsonl" 2> "$T/g1.err"
same "generate: one line per prompt, in order" "$(jq -r .id "$T/g1.jsonl" | tr '\n' ' ')" "$(jq -r .id "$T/prompts.jsonl" | tr '\n' ' ')"
same "generate: keys" "$(head -1 "$T/g1.jsonl" | jq -c keys_unsorted)" '["id","goal","prompt","response","tokens","finish"]'
same "generate: goal and prompt carried" "$(jq -c '[.goal, .prompt[0].content]' "$T/g1.jsonl" | sort -u | wc -l)" "3"
same "generate: length-finished responses have max tokens" "$(jq -r 'select(.finish == "length") | .tokens' "$T/g1.jsonl" | sort -u)" "24"
same "generate: responses are text" "$(jq -r 'select(.tokens > 0) | .response | type' "$T/g1.jsonl" | sort -u)" "string"
# a response is its ids decoded by rad-tokenize, bad UTF-8 replaced as Python replaces it
if command -v python3 >/dev/null; then
	gen --seed 7 --ids "$T/prompts.jsonl" > "$T/gi.jsonl"
	same "generate: --ids adds only the ids" "$(jq -c 'del(.ids)' "$T/gi.jsonl")" "$(cat "$T/g1.jsonl")"
	n_ok=0
	while IFS= read -r rec; do
		printf '%s\n' "$rec" > "$T/one.json"
		jq -r '.ids | join(" ")' "$T/one.json" | rad-tokenize -t "$TINY" --decode > "$T/raw"
		python3 -c 'import json, sys
raw = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
sys.exit(raw != json.load(open(sys.argv[2]))["response"])' "$T/raw" "$T/one.json" && n_ok=$((n_ok + 1))
	done < "$T/gi.jsonl"
	same "generate: every response decodes from its ids" "$n_ok" "12"
else
	skip "generate: responses decode from their ids" "no python3"
fi
same "generate: tokens/s reported" "$(grep -c 'tokens/s' "$T/g1.err")" "1"
gen --seed 7 "$T/prompts.jsonl" > "$T/g2.jsonl"
same "generate: same seed, same bytes" "$(cmp -s "$T/g1.jsonl" "$T/g2.jsonl" && echo same)" "same"
gen --seed 8 "$T/prompts.jsonl" > "$T/g3.jsonl"
same "generate: another seed, other responses" "$(cmp -s "$T/g1.jsonl" "$T/g3.jsonl" || echo differ)" "differ"
gen --seed 7 --batch-size 5 --threads 2 "$T/prompts.jsonl" > "$T/g4.jsonl"
same "generate: batch size and threads do not change the result" "$(cmp -s "$T/g1.jsonl" "$T/g4.jsonl" && echo same)" "same"
parallel --pipe -N 5 --keep-order rad-eval generate -m "$T/m" --max-new-tokens 24 --threads 1 --seed 7 --batch-size 2 \
	< "$T/prompts.jsonl" > "$T/g5.jsonl"
same "generate: sharded with GNU parallel gives the same bytes" "$(cmp -s "$T/g1.jsonl" "$T/g5.jsonl" && echo same)" "same"
tac "$T/prompts.jsonl" | gen --seed 7 | tac > "$T/g6.jsonl"
same "generate: a prompt's response does not depend on its neighbours" "$(cmp -s "$T/g1.jsonl" "$T/g6.jsonl" && echo same)" "same"
gen --temperature 0 "$T/prompts.jsonl" > "$T/gg1.jsonl"
gen --temperature 0 --seed 99 "$T/prompts.jsonl" > "$T/gg2.jsonl"
same "generate: greedy ignores the seed" "$(cmp -s "$T/gg1.jsonl" "$T/gg2.jsonl" && echo same)" "same"
gen --top-k 1 --seed 5 "$T/prompts.jsonl" > "$T/gk.jsonl"
same "generate: top-k 1 is greedy" "$(cmp -s "$T/gg1.jsonl" "$T/gk.jsonl" && echo same)" "same"
printf '{"id":"x","prompt":[{"role":"assistant","content":"hi"}]}\n{"prompt":"no id"}\n{"id":"ok","prompt":"fine"}\n' > "$T/bad.jsonl"
status_is 1 "generate: a bad prompt is an error" gen "$T/bad.jsonl"
same "generate: the error names the line" "$(last_stderr | grep -c "bad.jsonl:1: the last prompt turn is not a user turn")" "1"
same "generate: --skip-invalid keeps the good ones" "$(gen --skip-invalid "$T/bad.jsonl" 2>/dev/null | jq -r .id)" "ok"
# the Llama family decodes too (RMSNorm, RoPE, SwiGLU, grouped key/value heads)
rad-init --arch llama --tokenizer "$TINY" --layers 2 --heads 4 --kv-heads 2 --dim 32 --context 96 --seed 4 -o "$T/ll" 2>/dev/null
rad-eval generate -m "$T/ll" --max-new-tokens 12 --seed 2 --threads 1 "$T/prompts.jsonl" > "$T/l1.jsonl"
rad-eval generate -m "$T/ll" --max-new-tokens 12 --seed 2 --threads 1 --batch-size 3 "$T/prompts.jsonl" > "$T/l2.jsonl"
same "generate: a Llama-shaped model, any batch size" "$(cmp -s "$T/l1.jsonl" "$T/l2.jsonl" && wc -l < "$T/l1.jsonl")" "12"
status_is 2 "generate: no tokenizer" rad-eval generate -m "$T/ref" "$T/prompts.jsonl"

# ---- judging -----------------------------------------------------------------------
# a programmatic judge: the score is the response's length in characters, modulo 10
cat > "$T/judge.sh" <<'J'
#!/bin/sh
exec jq -c --unbuffered '{id, score: ((.response | length) % 10)}'
J
chmod +x "$T/judge.sh"
rad-eval judge --judge "$T/judge.sh" "$T/g1.jsonl" > "$T/j.jsonl"
same "judge: every record scored" "$(wc -l < "$T/j.jsonl")" "12"
same "judge: scores round-trip through the judge" "$(jq -c '[.id, .score]' "$T/j.jsonl" | sort)" \
	"$(jq -c '[.id, ((.response | length) % 10)]' "$T/g1.jsonl" | sort)"
same "judge: the record is kept whole" "$(jq -c 'del(.score)' "$T/j.jsonl" | sort)" "$(sort "$T/g1.jsonl")"
same "judge: a judge that reads everything first" \
	"$(rad-eval judge --judge "jq -c -s '.[] | {id, score: 1}'" "$T/g1.jsonl" | jq -r .score | sort -u)" "1"
# judges that fail after two scores: the two are kept, the message names the next record
third=$(sed -n 3p "$T/g1.jsonl" | jq -r .id)
cat > "$T/crash.sh" <<'J'
#!/bin/sh
head -n 2 | jq -c --unbuffered '{id, score: 5}'
exit 3
J
cat > "$T/hang.sh" <<'J'
#!/bin/sh
head -n 2 | jq -c --unbuffered '{id, score: 5}'
sleep 20
J
cat > "$T/garbage.sh" <<'J'
#!/bin/sh
head -n 2 | jq -c --unbuffered '{id, score: 5}'
echo 'the answer is 7'
sleep 20
J
cat > "$T/stranger.sh" <<'J'
#!/bin/sh
echo '{"id":"nobody","score":3}'
cat > /dev/null
J
chmod +x "$T"/*.sh
for j in crash hang garbage; do
	status_is 1 "judge: $j fails" rad-eval judge --judge "$T/$j.sh" --judge-timeout 2 -o "$T/$j.jsonl" "$T/g1.jsonl"
	same "judge: $j names the record" "$(last_stderr | grep -c "record $third")" "1"
	same "judge: $j keeps what was judged" "$(jq -r .score "$T/$j.jsonl" | tr '\n' ' ')" "5 5 "
done
status_is 1 "judge: a judge that stops early" rad-eval judge --judge "$T/crash.sh" "$T/g1.jsonl"
same "judge: crash says how it ended" "$(last_stderr | grep -c 'exited with status 3')" "1"
status_is 1 "judge: hang times out" rad-eval judge --judge "$T/hang.sh" --judge-timeout 1 "$T/g1.jsonl"
same "judge: hang says so" "$(last_stderr | grep -c 'no score for 1 seconds')" "1"
status_is 1 "judge: garbage" rad-eval judge --judge "$T/garbage.sh" "$T/g1.jsonl"
same "judge: garbage is quoted" "$(last_stderr | grep -c 'the answer is 7')" "1"
status_is 1 "judge: an id that was not sent" rad-eval judge --judge "$T/stranger.sh" "$T/g1.jsonl"
same "judge: the stranger is named" "$(last_stderr | grep -c 'record nobody')" "1"
status_is 1 "judge: a missing command" rad-eval judge --judge "$T/no-such-judge" "$T/g1.jsonl"
status_is 2 "judge: --judge is required" rad-eval judge "$T/g1.jsonl"

# ---- summary: a constructed case -----------------------------------------------------
cat > "$T/A.jsonl" <<'J'
{"id":"1","goal":"g10","score":10}
{"id":"2","goal":"g10","score":7}
{"id":"3","goal":"g5","score":5}
{"id":"4","goal":"g5","score":9}
J
cat > "$T/B.jsonl" <<'J'
{"id":"4","goal":"g10","score":3}
{"id":"1","goal":"g10","score":8}
{"id":"2","goal":"g10","score":7}
{"id":"3","goal":"g10","score":6}
{"id":"5","goal":"g10","score":1}
J
rad-eval summary "$T/A.jsonl" "$T/B.jsonl" > "$T/sum.json"
# A: mean 31/4, one 10 of 4; g10 (10+7)/2, g5 (5+9)/2.  A over B on ids 1-4:
# 10>8 win, 7=7 tie, 5<6 loss, 9>3 win: (2 + 0.5) / 4
same "summary: mean and top share" "$(jq -c '.files[0] | [.records, .mean, .top_share]' "$T/sum.json")" "[4,7.75,0.25]"
same "summary: controllability table" "$(jq -c '.files[0].controllability' "$T/sum.json")" '{"g10":{"n":2,"mean":8.5},"g5":{"n":2,"mean":7}}'
same "summary: win rate, ties half" "$(jq -c '.win_rate | [.matched, .wins, .ties, .losses, .rate]' "$T/sum.json")" "[4,2,1,1,0.625]"
same "summary: --top-score" "$(rad-eval summary --top-score 9 "$T/A.jsonl" | jq .files[0].top_share)" "0.5"
printf '{"id":"1","score":"high"}\n' > "$T/badj.jsonl"
status_is 1 "summary: a record without a numeric score" rad-eval summary "$T/badj.jsonl"
same "summary: names the line" "$(last_stderr | grep -c 'badj.jsonl:1')" "1"
# judge output feeds the summary
same "summary of judged generations" "$(rad-eval summary "$T/j.jsonl" | jq '.files[0].records')" "12"
exit $((_fails > 0))
