#!/usr/bin/env bash
# pipelines/demo/run at a reduced size (one seed, a few dozen prompts, a model that learns
# nothing in so few steps; tests/tools/demo_table.sh covers several seeds' cells): the run completes, the table has its shape
# (every section, row and cell), the base's controllability check agrees with a Spearman
# correlation computed here from the printed row, and a rerun redoes nothing.  The numbers
# themselves are not asserted: at this size they mean nothing.
. "$(dirname "$0")/lib.sh"
R=$TOP/build/opt/pipelines/demo/reversal
for t in jq bc python3; do command -v $t >/dev/null || { skip demo-run "$t is not installed"; exit 0; }; done
[ -x "$R" ] || { skip demo-run "build/opt/pipelines/demo/reversal not built (make all)"; exit 0; }
# once, optimised: under the sanitizers each tool the demo runs has its own tests, and the
# whole reduced demo would take a minute of the suite for no new code
[ "${RAD_CONFIG:-}" = san ] && { skip demo-run "run once, in the optimised build"; exit 0; }
export RAD_DEMO_WORK=$T/work SEEDS=1 DEMO_TRAIN_PROMPTS=40 DEMO_TEST_PROMPTS=12 \
	DEMO_SFT_EXAMPLES=64 DEMO_BATCH=8
ok_if "demo: a reduced run" "$TOP/pipelines/demo/run"
tab=$T/work/table.txt
ok_if "demo: the table is written" test -s "$tab"
sed -n '/^SFT base, no goal/,/^RA-DPO/p' "$tab" | head -6 >"$T/scores"
same "demo: six rows of judge scores, 9 cells each after the steps" \
	"$(awk -F'|' '{ print split($2, a, " ") + split($3, b, " ") + split($4, c, " ") }' "$T/scores" | tr '\n' ' ')" \
	"9 9 9 9 9 9 "
same "demo: the rows are the base, with and without a goal, and the four methods" \
	"$(cut -c1-22 "$T/scores" | sed 's/ *$//' | tr '\n' '/')" \
	"SFT base, no goal/SFT base, goal 10/DPO (N pairs)/DPO-dup (2N)/DPO-goal10, goal 10/RA-DPO (2N), goal 10/"
same "demo: unlearning in three score bands" "$(grep -c '^rejected answer scores  *>= 8  *5-7  *<= 4$' "$tab")" 1
same "demo: unlearning rows" "$(sed -n '/^unlearning/,/^$/p' "$tab" | grep -cE '^(pairs|SFT base, no goal|SFT base, goal 10|DPO \(N pairs\)|DPO-dup \(2N\)|DPO-goal10, goal 10|RA-DPO \(2N\), goal 10) ')" 7
ctl=$(sed -n '/^controllability/,/^$/p' "$tab")
same "demo: controllability rows for the base, DPO-goal10 and RA-DPO, 10 goals and Spearman" \
	"$(grep -E '^(SFT base|DPO-goal10|RA-DPO)' <<<"$ctl" | awk '{ print NF }' | tr '\n' ' ')" "13 12 13 "
same "demo: wall times" "$(grep -cE '^  (SFT training|train ra|eval likelihoods|all stages|whole demo, all seeds) ' "$tab")" 5

# The check: Spearman's rank correlation of the base's printed row (mean±sd cells; the
# means) with the goals 1..10, ties given their mean rank; the warning when it is below 0.9
# or undefined (a flat row).
rho=$(grep '^SFT base ' <<<"$ctl" | python3 -c '
import sys
y = [float(c.split("\u00b1")[0]) for c in sys.stdin.read().split()[2:12]]
r = [sum(v < x for v in y) + (sum(v == x for v in y) + 1) / 2 for x in y]
m = 5.5
sxy = sum((i + 1 - m) * (r[i] - m) for i in range(10))
sxx = sum((i + 1 - m) ** 2 for i in range(10))
syy = sum((ri - m) ** 2 for ri in r)
print("%.2f" % (sxy / (sxx * syy) ** 0.5) if syy > 0 else "-")')
same "demo: the printed Spearman of the base's row" "$(grep '^SFT base ' <<<"$ctl" | awk '{ print $NF }')" "$rho"
want=0
[ "$rho" = - ] || awk -v r="$rho" 'BEGIN { exit !(r < 0.9) }' && want=1
same "demo: warned exactly when the base's row does not rise (Spearman $rho)" "$(grep -c '^WARNING: the SFT base' "$tab")" "$want"

n=$(cat "$T"/work/s*/times.tsv | wc -l)
ok_if "demo: a rerun" "$TOP/pipelines/demo/run"
same "demo: a rerun redoes nothing" "$(cat "$T"/work/s*/times.tsv | wc -l)" "$n"
