#!/usr/bin/env bash
# pipelines/ra-dpo-online: two tiny rounds on demo prompts with a reward model made by
# rad-init; every output made, each round starting from the last round's model, the
# report's figures against the files they summarize, a run killed in its second round
# resumed without redoing the first (the same bytes as a run that was not killed), a rerun
# redoing nothing and one more round adding only it, a judge that finds only ties stopped
# with the tool's count, bad usage.
. "$(dirname "$0")/lib.sh"
R=$TOP/build/opt/pipelines/demo/reversal
command -v jq >/dev/null || { skip ra-dpo-online "jq is not installed"; exit 0; }
[ -x "$R" ] || { skip ra-dpo-online "build/opt/pipelines/demo/reversal not built (make all)"; exit 0; }
export OMP_WAIT_POLICY=PASSIVE
TOK=$TOP/pipelines/demo/tokenizer.json
P=$TOP/pipelines/ra-dpo-online
cd "$T"
"$R" prefs -n 10 --seed 2 >prompts.jsonl
printf 'Overall score: {score}.' >goal.txt
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 256 -o m >/dev/null
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 256 --reward-head 1 --seed 5 -o rm >/dev/null
run() {
	"$P" -i prompts.jsonl -m m -t "$TOK" -r rm --reward-tokenizer "$TOK" -K 4 --batch 4 --max-length 128 \
		--max-prompt-length 96 --lr 1e-3 --beta 0.1 --max-new-tokens 10 --eval-goal 10 --goal-template goal.txt "$@"
}
# A run killed in its second round (the whole process group: the pipeline and the tool
# it was running), then rerun: it resumes, and ends with the bytes of a run that went through.
set -m
run -w wk >/dev/null 2>&1 &
rpid=$!
set +m
for i in $(seq 1 600); do
	[ -e wk/round-2/samples.jsonl ] && break
	kill -0 "$rpid" 2>/dev/null || break
	sleep 0.05
done
kill -- -"$rpid" 2>/dev/null
wait "$rpid"
ok_if "online: killed in round 2" test ! -e wk/report.json
nk=$(wc -l <wk/times.tsv)
ok_if "online: the killed run, rerun" run -w wk
same "online: the rerun kept round 1" "$(tail -n +$((nk + 1)) wk/times.tsv | cut -f1 | grep -c 'round-1/')" 0
ok_if "online: two rounds" run -w w
for f in prompts.jsonl prompts-goal.jsonl round-1/samples.jsonl round-1/scored.jsonl round-1/pairs.jsonl \
	round-1/relabeled.jsonl round-1/ref.rad round-1/model/model.safetensors round-1/report.json \
	round-2/model/model.safetensors round-2/report.json final/scored.jsonl final/goal-scored.jsonl \
	rounds.jsonl report.json; do
	ok_if "online: made $f" test -s "w/$f"
done
if command -v gnuplot >/dev/null; then ok_if "online: the plot of mean reward per round" test -s w/reward.png
else skip "online: the plot" "gnuplot is not installed"; fi
np=$(wc -l <w/prompts.jsonl)
same "online: K samples of every prompt, scored" "$(jq -s 'map(select(.score | type == "number")) | length' w/round-1/scored.jsonl)" "$((4 * np))"
same "online: round 1 samples the start, round 2 the model of round 1" \
	"$(jq -r '.vars.pp' w/.stages/round-1/samples.jsonl w/.stages/round-2/samples.jsonl | tr '\n' ' ')" "$T/m $T/w/round-1/model "
same "online: round 2's reference is round 1's model" "$(jq -r .vars.policy w/.stages/round-2/ref.rad)" "$T/w/round-1/model"
ok_if "online: the rounds draw anew" bash -c '! cmp -s <(jq -c .response w/round-1/samples.jsonl) <(jq -c .response w/final/samples.jsonl)'
# best-worst, by hand: per prompt the highest score chosen and the lowest rejected
same "online: the pairs are best against worst" \
	"$(jq -c '[.id, .chosen, .rejected]' w/round-1/pairs.jsonl)" \
	"$(jq -s -c 'group_by(.id)[] | select(length > 1) | (max_by(.score)) as $b | (min_by(.score)) as $w
		| select($b.score != $w.score) | [.[0].id, $b.response, $w.response]' w/round-1/scored.jsonl)"
same "online: minmax put the pairs' scores on 1..10" "$(jq -s -c '[map(.score_chosen, .score_rejected) | min, max]' w/round-1/pairs.jsonl)" "[1,10]"
same "online: mean reward per round from the scored files" "$(jq -c '.mean_reward' w/report.json)" \
	"$(for f in round-1 round-2 final; do jq -s 'map(.score) | add / length' w/$f/scored.jsonl; done | jq -s -c .)"
same "online: the round's report counts its pairs and steps" \
	"$(jq -c '[.pairs.made, .pairs.relabeled, .pairs.prompts, .train.steps]' w/round-2/report.json)" \
	"[$(wc -l <w/round-2/pairs.jsonl),$(wc -l <w/round-2/relabeled.jsonl),$np,$(jq .steps w/round-2/batches.plan.json)]"
n=$(wc -l <w/times.tsv)
ok_if "online: a rerun" run -w w
same "online: a rerun redoes nothing" "$(wc -l <w/times.tsv)" "$n"
same "online: resumed and through, the same samples and models" \
	"$(cat wk/final/scored.jsonl wk/round-2/model/model.safetensors | sha256sum)" \
	"$(cat w/final/scored.jsonl w/round-2/model/model.safetensors | sha256sum)"
ok_if "online: one round more" run -w w --rounds 3
same "online: one round more adds only it" "$(tail -n +$((n + 1)) w/times.tsv | cut -f1 | grep -c 'round-[12]/')" 0
same "online: three rounds, four policies" "$(wc -l <w/rounds.jsonl)" 4

# A reward model with two named labels: pairs picked by the first, goals of both lines.
printf 'Helpfulness: {helpfulness}. Correctness: {correctness}.' >goal2.txt
rad-init --tokenizer "$TOK" --layers 1 --heads 2 --dim 16 --context 256 --reward-head helpfulness,correctness --seed 6 -o rm2 >/dev/null
ok_if "online: two attributes, one round" "$P" -w wa -i prompts.jsonl -m m -t "$TOK" -r rm2 --reward-tokenizer "$TOK" \
	--score-fields helpfulness,correctness --goal-template goal2.txt -K 3 --max-new-tokens 6 --rounds 1 --batch 4
same "online: the pairs carry both ratings, picked by helpfulness" \
	"$(jq -s -c 'map((.ratings_chosen | keys_unsorted) == ["helpfulness","correctness"] and .ratings_chosen.helpfulness == .score_chosen) | unique' wa/round-1/pairs.jsonl)" "[true]"
same "online: every goal states both, two per pair" \
	"$(jq -r '.goal' wa/round-1/relabeled.jsonl | grep -cE '^Helpfulness: [0-9.]+\. Correctness: [0-9.]+\.$')" \
	"$((2 * $(wc -l <wa/round-1/pairs.jsonl)))"
same "online: the mean reward is helpfulness's" "$(jq -c '.mean_reward[0]' wa/report.json)" \
	"$(jq -s 'map(.scores.helpfulness) | add / length' wa/round-1/scored.jsonl)"

# A judge that gives every response the same score: no pair, said so with the counts.
status_is 1 "online: only ties stop the round" "$P" -w wj -i prompts.jsonl -m m -t "$TOK" --judge "jq -c --unbuffered '{id, score: 5}'" \
	-K 2 --max-new-tokens 4 --rounds 1
same "online: the message counts the ties" "$(last_stderr | grep -c "pairs by best-worst from $np prompts.* ties $np,")" 1
status_is 2 "online: a scorer is needed" "$P" -w x -i prompts.jsonl -m m
status_is 2 "online: not two scorers" "$P" -w x -i prompts.jsonl -m m -r rm --judge cat
status_is 2 "online: one sample makes no pair" "$P" -w x -i prompts.jsonl -m m -r rm -K 1
status_is 2 "online: unknown option" "$P" --frobnicate 1
