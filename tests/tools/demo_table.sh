#!/usr/bin/env bash
# pipelines/demo/table on constructed run directories: means, standard deviations, win
# rates against the base asked the same way, likelihood changes by score band, the
# controllability rows, their Spearman correlation and the warning, the on-policy table,
# all against values worked out by hand.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { skip demo-table "jq is not installed"; exit 0; }
cd "$T"
# judged FILE SCORE...: one line per score, ids p1, p2, ...
judged() { local f=$1 i=0 s; shift; for s in "$@"; do i=$((i + 1)); echo "{\"id\":\"p$i\",\"goal\":\"\",\"prompt\":\"x\",\"response\":\"y\",\"score\":$s}"; done >"$f"; }
# lik FILE PAIRS BEFORE AFTER: a rad-eval likelihood report (PAIRS 0: no log-likelihoods)
lik() {
	if [ "$2" = 0 ]; then echo '{"pairs":0,"models":[{"rejected":{"logp_per_token":null}},{"rejected":{"logp_per_token":null}}]}'
	else echo "{\"pairs\":$2,\"models\":[{\"rejected\":{\"logp_per_token\":$3}},{\"rejected\":{\"logp_per_token\":$4}}]}"; fi >"$1"
}
# mk SEED BASE METHOD BASE_ROW RA_ROW HI_PAIRS AFTER
#   BASE: the base's score on every prompt without a goal (with goal 10 it scores 10);
#   METHOD: the four answers of every method, "a b c d"; BASE_ROW, RA_ROW: the achieved
#   score per goal 1..10 of the base and of RA-DPO (DPO-goal10: the goal itself);
#   HI_PAIRS: pairs in the band >= 8; AFTER: every method's log-likelihood after.
mk() {
	local d=w/s$1 ck m b t g
	mkdir -p "$d/eval"
	for t in 1 0; do
		judged "$d/eval/sft-none-t$t.jsonl" $2 $2 $2 $2
		judged "$d/eval/sft-g10-t$t.jsonl" 10 10 10 10
		for ck in dpo-early dpo dup-early dup; do judged "$d/eval/$ck-none-t$t.jsonl" $3; done
		for ck in goal10-early goal10 ra-early ra; do judged "$d/eval/$ck-g10-t$t.jsonl" $3; done
	done
	local base=($4) ra=($5)
	for g in 1 2 3 4 5 6 7 8 9; do
		judged "$d/eval/sft-g$g-t1.jsonl" ${base[g - 1]}
		judged "$d/eval/ra-g$g-t1.jsonl" ${ra[g - 1]}
		judged "$d/eval/goal10-g$g-t1.jsonl" $g
	done
	for m in dpo dup goal10 ra; do
		lik "$d/eval/lik-$m-hi.json" $6 -1.5 $7
		lik "$d/eval/lik-$m-mid.json" 100 -2.0 -2.5
		lik "$d/eval/lik-$m-lo.json" 50 -3.0 -3.0
		mkdir -p "$d/$m" "$d/$m-early"; echo '{"step":78}' >"$d/$m/trainer_state.json"; echo '{"step":39}' >"$d/$m-early/trainer_state.json"
	done
	mkdir -p "$d/sft"; echo '{"step":1500}' >"$d/sft/trainer_state.json"
	judged "$d/prompts-none.jsonl" 1 1 1
	printf 'sft\t100\ndpo\t10\ndpo-early\t5\neval/ra-g10-t1.jsonl\t2\neval/sft-g3-t1.jsonl\t1\neval/lik-ra-hi.json\t3\n' >"$d/times.tsv"
	echo "reversal: prefs: 2000 prompts, 1200 pairs written, 800 dropped as exact ties" >"$d/prefs.log"
}
# Seed 1: the base scores 4 without a goal; every method 6 6 10 1 (mean 5.75, 25% perfect):
# against the base's 4 4 4 4 win, win, win, loss = 75%; the goal-trained ones against the
# base asked for 10 (10 10 10 10): loss, loss, tie, loss = 12.5%.  The base's row is the
# goal itself (Spearman 1).  RA-DPO's row is 1..8, 10 and, at goal 10, the main table's
# 5.75: ranks 1..5, 7, 8, 9, 10, 6, d = 0 0 0 0 0 1 1 1 1 -4, sum d^2 = 20, Spearman
# 1 - 6 x 20 / (10 x 99) = 0.88; DPO-goal10's (1..9, 5.75) has the same ranks.
mk 1 4 "6 6 10 1" "1 2 3 4 5 6 7 8 9" "1 2 3 4 5 6 7 8 10" 8 -2.0
# Seed 2: methods 4 4 10 1 (mean 4.75; against 4: tie, tie, win, loss = 50%; against 10:
# loss, loss, tie, loss = 12.5%); the base's row falls (9, 8, ..., 1, then 10 at goal 10);
# no pairs in the band >= 8.
mk 2 4 "4 4 10 1" "9 8 7 6 5 4 3 2 1" "1 2 3 4 5 6 7 8 10" 0 -1.0

"$TOP/pipelines/demo/table" w 1 >one.txt
line() { grep -m1 "^$1" "$2" | tr -s ' '; }
after() { sed -n "/^$1/,\$p" "$2"; }
same "one seed: the DPO row" "$(line 'DPO (N pairs)' one.txt)" "DPO (N pairs) 78 | 5.75 5.75 25.0 25.0 | 5.75 5.75 25.0 | 75.0 75.0"
same "one seed: the base row" "$(line 'SFT base, no goal' one.txt)" "SFT base, no goal 1500 | - 4.00 - 0.0 | - 4.00 0.0 | - -"
same "one seed: the base asked for 10" "$(line 'SFT base, goal 10' one.txt)" "SFT base, goal 10 1500 | - 10.00 - 100.0 | - 10.00 100.0 | - -"
same "one seed: RA-DPO wins against the base asked for 10" "$(line 'RA-DPO' one.txt)" "RA-DPO (2N), goal 10 78 | 5.75 5.75 25.0 25.0 | 5.75 5.75 25.0 | 12.5 12.5"
same "one seed: unlearning, pairs per band" "$(line pairs <(after unlearning one.txt))" "pairs 8.0 100.0 50.0"
same "one seed: unlearning, the base" "$(line 'SFT base, no goal' <(after unlearning one.txt))" "SFT base, no goal -1.500 -2.000 -3.000"
same "one seed: unlearning, RA-DPO's change per band" "$(line 'RA-DPO' <(after unlearning one.txt))" "RA-DPO (2N), goal 10 -0.500 -0.500 0.000"
same "one seed: controllability, the base" "$(line 'SFT base' <(after controllability one.txt))" \
	"SFT base 1.00 2.00 3.00 4.00 5.00 6.00 7.00 8.00 9.00 10.00 1.00"
same "one seed: controllability, DPO-goal10 (the goal, then 5.75)" "$(line 'DPO-goal10' <(after controllability one.txt))" \
	"DPO-goal10 1.00 2.00 3.00 4.00 5.00 6.00 7.00 8.00 9.00 5.75 0.88"
same "one seed: controllability, RA-DPO" "$(line 'RA-DPO' <(after controllability one.txt))" \
	"RA-DPO (2N) 1.00 2.00 3.00 4.00 5.00 6.00 7.00 8.00 10.00 5.75 0.88"
same "one seed: a rising base row gives no warning" "$(grep -c WARNING one.txt)" 0
same "one seed: counts" "$(head -1 one.txt)" "rad demo, reversal task, 1 seed: 2000 training prompts -> 1200 pairs (800 exact ties dropped); 3 held-out prompts"
same "one seed: SFT time" "$(line '  SFT training' one.txt)" " SFT training 100.0"
same "one seed: DPO time, early and end together" "$(line '  train dpo' one.txt)" " train dpo 15.0"
same "one seed: eval time and runs" "$(line '  eval generate' one.txt)" " eval generate + judge (2 runs) 3.0"

"$TOP/pipelines/demo/table" w 1 2 >two.txt
# means over seeds 5.75 and 4.75: 5.25, sd sqrt(2 x 0.5^2 / 1) = 0.71; win 75, 50 ->
# 62.5 +- 17.7; RA-DPO's win 12.5 in both.
same "two seeds: the DPO row" "$(line 'DPO (N pairs)' two.txt)" "DPO (N pairs) 78 | 5.25±0.71 5.25±0.71 25.0±0.0 25.0±0.0 | 5.25±0.71 5.25±0.71 25.0±0.0 | 62.5±17.7 62.5±17.7"
same "two seeds: RA-DPO's wins" "$(line 'RA-DPO' two.txt | cut -d'|' -f4)" " 12.5±0.0 12.5±0.0"
# band >= 8: seed 2 has no pairs, so the figures are seed 1's alone, starred; pairs 8, 0.
same "two seeds: unlearning, pairs" "$(line pairs <(after unlearning two.txt))" "pairs 4.0±5.7 100.0±0.0 50.0±0.0"
same "two seeds: unlearning, DPO-dup" "$(line 'DPO-dup' <(after unlearning two.txt))" "DPO-dup (2N) -0.500±0.000* -0.500±0.000 0.000±0.000"
ok_if "two seeds: the star is explained" grep -q '^\* from fewer seeds' two.txt
# The base's mean row is 5 at goals 1..9 (g and 10 - g) and 10 at goal 10 (sd at goal 1:
# values 1 and 9, sqrt(32) = 5.66).  Ranks 5 (nine ties) and 10 against 1..10: the sum of
# (i - 5.5)(r - 5.5) is -0.5 x (-4.5) + 4.5 x 4.5 = 22.5, the sums of squares 82.5 and 22.5,
# so Spearman = 22.5 / sqrt(82.5 x 22.5) = 0.52, below 0.9: the warning.
same "two seeds: controllability, the base" "$(line 'SFT base' <(after controllability two.txt) | cut -d' ' -f3,4,12,13)" "5.00±5.66 5.00±4.24 10.00±0.00 0.52"
same "two seeds: the warning" "$(grep WARNING two.txt)" \
	"WARNING: the SFT base's row does not rise with the goal (Spearman 0.52 < 0.9): this run says nothing about goal conditioning."
# a flat row: no correlation at all
for g in 1 2 3 4 5 6 7 8 9; do judged w/s1/eval/sft-g$g-t1.jsonl 10; done
"$TOP/pipelines/demo/table" w 1 >flat.txt
same "a flat base row: Spearman undefined, warned" "$(grep -c 'WARNING.*Spearman undefined' flat.txt)" 1
same "without the on-policy section's files, no on-policy table" "$(grep -c 'on-policy' one.txt)" 0

# The on-policy section (ONLINE=1), seed 1: DPO's answers 6 4 4 2 without a goal (mean 4;
# against the base's 4s: win, tie, tie, loss = 50%) and 10 10 1 1 with goal 10 (5.5, 50%
# perfect; against the base's 10s: tie, tie, loss, loss = 25%); RA-DPO's 5 5 5 5 (5; 100%)
# and 10 10 10 1 (7.75, 75% perfect; tie, tie, tie, loss = 37.5%).
judged w/s1/eval/on-dpo-none-t1.jsonl 6 4 4 2
judged w/s1/eval/on-dpo-g10-t1.jsonl 10 10 1 1
judged w/s1/eval/on-ra-none-t1.jsonl 5 5 5 5
judged w/s1/eval/on-ra-g10-t1.jsonl 10 10 10 1
mkdir -p w/s1/online-dpo w/s1/online-ra
echo '{"samples":4,"mean_reward":[3.5,4.25],"rounds":[{"pairs":{"made":90,"ties":10,"prompts":100},"train":{"steps":3}}]}' >w/s1/online-dpo/report.json
echo '{"samples":4,"mean_reward":[3.5,5],"rounds":[{"pairs":{"made":90,"ties":10,"prompts":100},"train":{"steps":6}}]}' >w/s1/online-ra/report.json
"$TOP/pipelines/demo/table" w 1 >online.txt
same "on-policy: what was done" "$(sed -n '/^on-policy pairs/,/^method/p' online.txt | head -2 | tr -s ' ' | tr '\n' ' ')" \
	"on-policy pairs (make demo ONLINE=1): the SFT base answers 100 training prompts 4 times, the judge scores the  answers, the best and the worst make a pair (90 pairs, 10 prompts tied); DPO and RA-DPO train on them from the "
same "on-policy: the base" "$(line 'SFT base' <(after on-policy online.txt))" "SFT base 1500 | 4.00 10.00 0.0 100.0 | - - | - -"
same "on-policy: DPO" "$(line 'DPO, on-policy' online.txt)" "DPO, on-policy pairs 3 | 4.00 5.50 0.0 50.0 | 50.0 25.0 | 3.50 4.25"
same "on-policy: RA-DPO" "$(line 'RA-DPO (2N), on-policy' online.txt)" "RA-DPO (2N), on-policy pairs 6 | 5.00 7.75 0.0 75.0 | 100.0 37.5 | 3.50 5.00"
status_is 2 "usage: no seed" "$TOP/pipelines/demo/table" w
