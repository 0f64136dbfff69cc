#!/usr/bin/env bash
# rad-score-normalize --pairs: pairs from a prompt's scored responses (rad-eval generate
# --samples, then reward or judge), one per line or grouped, against pairs worked out by
# hand; ties and small gaps counted; a prompt split between inputs refused; several score
# fields into rad-relabel's multi-attribute goals; the minmax scale by hand; raw
# UltraFeedback under best-random is its own binarization less the ties.
. "$(dirname "$0")/lib.sh"
N=rad-score-normalize
# prompt a: scores 3 7 1 7 (samples 0..3); prompt b: 5 5; prompt c: one response and one unscored
cat >"$T/lines.jsonl" <<'EOF'
{"id":"a","sample":0,"samples":4,"prompt":"qa","response":"a0","score":3}
{"id":"a","sample":1,"samples":4,"prompt":"qa","response":"a1","score":7}
{"id":"a","sample":2,"samples":4,"prompt":"qa","response":"a2","score":1}
{"id":"a","sample":3,"samples":4,"prompt":"qa","response":"a3","score":7}
{"id":"b","sample":0,"samples":2,"prompt":[{"role":"system","content":"s"},{"role":"user","content":"qb"}],"response":"b0","score":5}
{"id":"b","sample":1,"samples":2,"prompt":[{"role":"system","content":"s"},{"role":"user","content":"qb"}],"response":"b1","score":5}
{"id":"c","sample":0,"samples":2,"prompt":"qc","response":"c0","score":2}
{"id":"c","sample":1,"samples":2,"prompt":"qc","response":"c1"}
EOF
jq -c -s 'group_by(.id) | map({id: .[0].id, prompt: .[0].prompt, responses: map({sample, response, score})})[]' \
	"$T/lines.jsonl" >"$T/grouped.jsonl"
show() { jq -r '"\(.id):\(.chosen)>\(.rejected)"' | tr '\n' ' '; }
same "best-worst: the first best against the first worst; a tie makes none" \
	"$($N --pairs best-worst "$T/lines.jsonl" 2>"$T/err" | show)" "a:a1>a2 "
same "best-worst: what was not made is counted" "$(cat "$T/err")" \
	"rad-score-normalize: 1 pairs by best-worst from 3 prompts; not made: 1 prompts with fewer than 2 scored responses, 1 responses without a score, 1 ties, 0 gaps below --min-gap"
same "samples default to best-worst" "$($N "$T/lines.jsonl" 2>/dev/null | show)" "a:a1>a2 "
same "all: every two that differ, the higher chosen, ids by sample" \
	"$($N --pairs all "$T/lines.jsonl" 2>/dev/null | show)" "a#1-0:a1>a0 a#0-2:a0>a2 a#3-0:a3>a0 a#1-2:a1>a2 a#3-2:a3>a2 "
same "all --min-gap 4: the gap of 2 is not made" "$($N --pairs all --min-gap 4 "$T/lines.jsonl" 2>&1 >/dev/null | grep -o '[0-9]* ties, [0-9]* gaps')" "2 ties, 1 gaps"
same "grouped responses give the same pairs" "$($N --pairs all "$T/grouped.jsonl" 2>/dev/null)" "$($N --pairs all "$T/lines.jsonl" 2>/dev/null)"
same "a pair: the contract's keys, the prompt's turns, the source's samples" \
	"$($N "$T/lines.jsonl" 2>/dev/null | jq -c '[keys_unsorted, .prompt, .score_chosen, .score_rejected, .source]')" \
	'[["id","prompt","chosen","rejected","score_chosen","score_rejected","source"],[{"role":"user","content":"qa"}],7,1,{"format":"samples","sample_chosen":1,"sample_rejected":2,"samples":4}]'
# best-random: the best (sample 1) against the binarization's draw over the other three;
# drawing sample 3, a 7 as well, is a tie: no pair, counted (b's tie is counted every time)
bad=""
for seed in $(seq 0 19); do
	got=$($N --pairs best-random --seed "$seed" "$T/lines.jsonl" 2>"$T/err" | jq -r 'select(.id == "a") | .source.sample_rejected')
	ties=$(grep -o '[0-9]* ties' "$T/err" | cut -d' ' -f1)
	case "$got:$ties" in 0:1|2:1|:2) ;; *) bad+=" seed $seed: $got:$ties" ;; esac
done
same "best-random: a pair against sample 0 or 2, or a counted tie with sample 3" "$bad" ""
# a prompt's lines split (as a shard boundary would): refused, naming the prompt
status_is 1 "a prompt's responses split between inputs" $N --pairs all <(head -2 "$T/lines.jsonl") <(sed -n 3,8p "$T/lines.jsonl")
same "the message says how to keep them together" "$(last_stderr | grep -c 'prompt a (from .*): 2 of its 4 responses are here.*--group')" 1
head -2 "$T/lines.jsonl" | jq -c 'del(.samples)' >"$T/nocount.jsonl"
same "without \"samples\" counts a partial prompt is what it is" "$($N "$T/nocount.jsonl" 2>/dev/null | show)" "a:a1>a0 "
status_is 1 "--score-fields of three paths on pair records" $N --score-fields a,b,c "$DATA/trl_shapes.jsonl"

# several score fields: picked by the first, every one a rating, mapped from -1:1 to 1:10
cat >"$T/multi.jsonl" <<'EOF'
{"id":"m","prompt":"q","responses":[{"sample":0,"response":"r0","scores":{"helpfulness":0.2,"correctness":-1}},{"sample":1,"response":"r1","scores":{"helpfulness":0.8,"correctness":1}},{"sample":2,"response":"r2","scores":{"helpfulness":-0.4,"correctness":0}}]}
EOF
$N --score-fields helpfulness,correctness --scale-by linear --from -1:1 --round 0.1 "$T/multi.jsonl" >"$T/multi.pair"
# by hand: 1 + (v + 1) / 2 * 9: 0.8 -> 9.1, -0.4 -> 3.7; correctness 1 -> 10, 0 -> 5.5
same "fields: picked by the first, each a rating on the scale" \
	"$(jq -c '[.chosen, .rejected, .score_chosen, .score_rejected, .ratings_chosen, .ratings_rejected]' "$T/multi.pair")" \
	'["r1","r2",9.1,3.7,{"helpfulness":9.1,"correctness":10},{"helpfulness":3.7,"correctness":5.5}]'
same "fields: rad-relabel writes one goal line per attribute" \
	"$(rad-relabel --attributes helpfulness,correctness "$T/multi.pair" | jq -r 'select(.half == "neg") | .goal' | tail -2 | tr '\n' '|')" \
	"Helpfulness score: 3.7.|Correctness score: 5.5.|"
# minmax: the lowest and highest score of the written pairs' become the scale's ends
cat >"$T/rm.jsonl" <<'EOF'
{"id":"x","prompt":"q","responses":[{"response":"x0","score":-2.5},{"response":"x1","score":1.5},{"response":"x2","score":0.5}]}
{"id":"y","prompt":"q","responses":[{"response":"y0","score":-0.5},{"response":"y1","score":-1.5}]}
EOF
# pairs x1>x0 (1.5, -2.5) and y0>y1 (-0.5, -1.5): min -2.5, max 1.5; 1 + (v + 2.5) / 4 * 9
same "minmax: the ends of the scores seen, linear between" \
	"$($N --scale-by minmax "$T/rm.jsonl" | jq -c '[.score_chosen, .score_rejected]' | tr '\n' ' ')" "[10,1] [5.5,3.25] "
status_is 2 "minmax reads its input twice: not stdin" $N --scale-by minmax - <"$T/rm.jsonl"
same "minmax: ratings per field on their own ends" \
	"$($N --score-fields helpfulness,correctness --scale-by minmax "$T/multi.jsonl" | jq -c '[.ratings_chosen, .ratings_rejected]')" \
	'[{"helpfulness":10,"correctness":10},{"helpfulness":1,"correctness":1}]'

# raw UltraFeedback: --pairs best-random is the format's own pair, less the ties it keeps
$N "$DATA/ultrafeedback_raw_sample.jsonl" 2>/dev/null | jq -c 'select(.score_chosen != .score_rejected) | [.id, .chosen, .rejected]' >"$T/uf.default"
$N --pairs best-random "$DATA/ultrafeedback_raw_sample.jsonl" 2>/dev/null | jq -c '[.id, .chosen, .rejected]' >"$T/uf.rule"
same "raw uf: best-random is the binarization without ties" "$(cat "$T/uf.rule")" "$(cat "$T/uf.default")"
same "raw uf: all pairs every two rated completions that differ" \
	"$($N --pairs all "$DATA/ultrafeedback_raw_sample.jsonl" 2>/dev/null | jq -r '.id | sub("#.*"; "")' | sort | uniq -c | awk '{ print $1 }' | sort -n | tr '\n' ' ')" \
	"$(jq -c 'select(.source != "truthful_qa") | [.completions[] | select(.overall_score != null and ([.annotations[] | (if type == "array" then .[0] else . end) | .Rating] | all(. != "N/A"))) | .overall_score] | select(length > 1)
		| . as $s | [range(length) as $i | range($i + 1; length) as $j | select($s[$i] != $s[$j])] | length' "$DATA/ultrafeedback_raw_sample.jsonl" | sort -n | tr '\n' ' ')"
