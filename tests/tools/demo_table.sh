#!/usr/bin/env bash
# pipelines/demo/table on constructed run directories: means, standard deviations, win
# rates, likelihood changes and controllability match values worked out by hand.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { skip demo-table "jq is not installed"; exit 0; }
cd "$T"
# judged file: one line per score, ids p1, p2, ...
judged() { local i=0 s; for s in "$@"; do i=$((i + 1)); echo "{\"id\":\"p$i\",\"goal\":\"\",\"prompt\":\"x\",\"response\":\"y\",\"score\":$s}"; done; }
mk() {   # mk SEED BASE_SCORE METHOD_SCORE RA_GOAL_SHIFT LIK_AFTER
	local d=w/s$1 ck g
	mkdir -p "$d/eval"
	judged $2 $2 $2 $2 >"$d/eval/sft-t1.jsonl"; judged $2 $2 $2 $2 >"$d/eval/sft-t0.jsonl"
	for ck in dpo-early dpo dup-early dup goal10-early goal10 ra-early ra; do
		judged $3 $3 10 1 >"$d/eval/$ck-t1.jsonl"; judged $3 $3 10 1 >"$d/eval/$ck-t0.jsonl"
	done
	for g in 1 2 3 4 5 6 7 8 9 10; do judged $((g + $4)) >"$d/eval/ra-goal$g.jsonl"; done
	for m in dpo dup goal10 ra; do
		echo "{\"pairs\":8,\"models\":[{\"rejected\":{\"logp_per_token\":-1.5}},{\"rejected\":{\"logp_per_token\":$5}}]}" >"$d/eval/lik-$m.json"
		mkdir -p "$d/$m" "$d/$m-early"; echo '{"step":78}' >"$d/$m/trainer_state.json"; echo '{"step":39}' >"$d/$m-early/trainer_state.json"
	done
	mkdir -p "$d/sft"; echo '{"step":375}' >"$d/sft/trainer_state.json"
	judged 1 1 1 >"$d/prompts-none.jsonl"
	printf 'sft\t100\ndpo\t10\ndpo-early\t5\neval/ra-t1.jsonl\t2\n' >"$d/times.tsv"
	echo "reversal: prefs: 2000 prompts, 1200 pairs written, 800 dropped as exact ties" >"$d/prefs.log"
}
# seed 1: base 4; methods score 6,6,10,1 (mean 5.75, 25% perfect; vs base 4: win, win,
# win, loss = 75%); goals g+0; after -2.0.  seed 2: base 4, methods 4,4,10,1 (mean 4.75;
# tie, tie, win, loss = 50%), goals g+1 (capped by nothing: 2..11), after -1.0.
mk 1 4 6 0 -2.0
mk 2 4 4 1 -1.0
"$TOP/pipelines/demo/table" w 1 >one.txt
line() { grep -m1 "^$1" "$2" | tr -s ' '; }
same "one seed: the DPO row" "$(line 'DPO (N pairs)' one.txt)" "DPO (N pairs) 78 | 5.75 5.75 25.0 25.0 | 5.75 5.75 25.0 | 75.0 75.0"
same "one seed: the base row" "$(line 'SFT base' one.txt)" "SFT base 375 | 4.00 4.00 0.0 0.0 | 4.00 4.00 0.0 | - -"
same "one seed: unlearning" "$(line 'RA-DPO' <(sed -n '/^unlearning/,$p' one.txt))" "RA-DPO (2N), goal 10 8 -1.500 -2.000 -0.500"
same "one seed: controllability" "$(line achieved one.txt)" "achieved 1.00 2.00 3.00 4.00 5.00 6.00 7.00 8.00 9.00 10.00"
same "one seed: counts" "$(head -1 one.txt)" "rad demo, reversal task, 1 seed: 2000 prompts -> 1200 pairs (800 exact ties dropped); 3 held-out prompts"
same "one seed: SFT time" "$(line '  SFT training' one.txt)" " SFT training 100.0"
same "one seed: DPO time, early and end together" "$(line '  train dpo' one.txt)" " train dpo 15.0"
"$TOP/pipelines/demo/table" w 1 2 >two.txt
# means over seeds 5.75 and 4.75: 5.25, sd sqrt(((0.5)^2 * 2) / 1) = 0.707; win 75, 50 ->
# 62.5 +- 17.7; change -0.5, +0.5 -> 0 +- 0.707; goal 1: 1, 2 -> 1.5 +- 0.71
same "two seeds: the DPO row" "$(line 'DPO (N pairs)' two.txt)" "DPO (N pairs) 78±0 | 5.25±0.71 5.25±0.71 25.0±0.0 25.0±0.0 | 5.25±0.71 5.25±0.71 25.0±0.0 | 62.5±17.7 62.5±17.7"
same "two seeds: unlearning" "$(line 'DPO-dup' <(sed -n '/^unlearning/,$p' two.txt))" "DPO-dup (2N) 8±0 -1.500±0.000 -1.500±0.707 0.000±0.707"
same "two seeds: controllability" "$(line achieved two.txt | cut -d' ' -f1-3)" "achieved 1.50±0.71 2.50±0.71"
