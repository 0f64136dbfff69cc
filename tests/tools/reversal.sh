#!/usr/bin/env bash
# The demo task's generator and judge (pipelines/demo/reversal_cli.c): data shape, determinism,
# scores that the judge reproduces, the SFT goal share, the judge protocol and errors.
. "$(dirname "$0")/lib.sh"
R=$TOP/build/opt/pipelines/demo/reversal
if [ ! -x "$R" ]; then skip reversal "build/opt/pipelines/demo/reversal not built (make all)"; exit 0; fi

"$R" prefs -n 300 --seed 5 >"$T/a.jsonl"
"$R" prefs -n 300 --seed 5 >"$T/b.jsonl"
"$R" prefs -n 300 --seed 6 >"$T/c.jsonl"
ok_if "prefs: same seed, same bytes" cmp -s "$T/a.jsonl" "$T/b.jsonl"
status_is 1 "prefs: another seed, other data" cmp -s "$T/a.jsonl" "$T/c.jsonl"

"$R" prefs -n 300 --seed 5 --verbose 2>"$T/v" >/dev/null
pairs=$(wc -l <"$T/a.jsonl")
same "prefs: summary counts written + ties = prompts" \
	"$(sed -E 's/.* ([0-9]+) prompts, ([0-9]+) pairs written, ([0-9]+) dropped.*/\1 \2 \3/' "$T/v" | awk '{print $1, $2 + $3, $2}')" \
	"300 300 $pairs"
same "prefs: no exact ties, chosen always better" \
	"$(jq -r 'select(.score_chosen <= .score_rejected) | .prompt_id' "$T/a.jsonl" | wc -l)" 0
same "prefs: the prompt is 9 digits and both conversations start with it" \
	"$(jq -r 'select((.prompt|test("^[0-9]{9}$")) and .chosen[0].content == .prompt and .rejected[0].content == .prompt and .chosen[1].role == "assistant") | 1' "$T/a.jsonl" | wc -l)" "$pairs"

# The judge gives back exactly the scores the generator wrote.
jq -c '{id: .prompt_id, prompt: .chosen[0:1], response: .chosen[1].content}, {id: .prompt_id, prompt: .prompt, response: .rejected[1].content}' "$T/a.jsonl" \
	| "$R" judge | jq -r .score >"$T/judged"
jq -r '.score_chosen, .score_rejected | floor' "$T/a.jsonl" >"$T/written"
ok_if "judge reproduces the generator's scores" cmp -s "$T/judged" "$T/written"

n=$(rad-score-normalize "$T/a.jsonl" | wc -l)
same "rad-score-normalize reads every pair" "$n" "$pairs"

"$R" sft -n 2000 --seed 1 >"$T/all"
"$R" sft -n 2000 --seed 1 --part goal >"$T/goal"
"$R" sft -n 2000 --seed 1 --part plain >"$T/plain"
same "sft: goal + plain parts are all" "$(cat "$T/goal" "$T/plain" | sort | md5sum)" "$(sort "$T/all" | md5sum)"
g=$(wc -l <"$T/goal")
ok_if "sft: goal share near 0.2 ($g of 2000)" test "$g" -ge 340 -a "$g" -le 460

# --goal-scores uniform: the goal part's scores cover 1..10 about equally (each near 10% of
# ~1000 examples: 6 sd is about 57), every answer scores what it says, the plain part is
# the teacher's as before.
"$R" sft -n 5000 --seed 1 --goal-share 0.2 --part goal --goal-scores uniform >"$T/ugoal"
"$R" sft -n 5000 --seed 1 --goal-share 0.2 --part plain --goal-scores uniform >"$T/uplain"
"$R" sft -n 5000 --seed 1 --goal-share 0.2 --part plain >"$T/tplain"
ng=$(wc -l <"$T/ugoal")
same "sft --goal-scores uniform: every score 1..10, each within 6 sd of a tenth" \
	"$(jq -r '.score_chosen | floor' "$T/ugoal" | sort -n | uniq -c | awk -v n="$ng" '$1 > n / 10 - 6 * sqrt(n * 0.09) && $1 < n / 10 + 6 * sqrt(n * 0.09) { k++ } END { print k }')" 10
jq -c '{id: .prompt_id, prompt: .prompt, response: .chosen[1].content}' "$T/ugoal" | "$R" judge | jq -r .score >"$T/ujudged"
ok_if "sft --goal-scores uniform: the judge agrees with every written score" cmp -s "$T/ujudged" <(jq -r '.score_chosen | floor' "$T/ugoal")
ok_if "sft --goal-scores uniform: the plain part is unchanged" cmp -s "$T/uplain" "$T/tplain"
status_is 2 "usage: bad --goal-scores" "$R" sft --goal-scores some

# Hand-checked judge cases: prompt 123456789, ideal 987654321.
got=$(printf '%s\n' \
	'{"id":"a","prompt":"123456789","response":"COMMIT 987654321"}' \
	'{"id":"b","prompt":[{"role":"system","content":"Overall score: 10."},{"role":"user","content":"123456789"}],"response":"HEDGE 987654321"}' \
	'' \
	'{"id":7,"prompt":"x 123456789","response":"COMMIT 087654300"}' \
	| "$R" judge | tr '\n' ' ')
same "judge: hand-checked scores" "$got" '{"id":"a","score":10} {"id":"b","score":7} {"id":7,"score":7} '
printf '%s\n' '{"id":"a","prompt":"123456789","response":"COMMIT 1"}' 'not json' >"$T/bad"
status_is 1 "judge: bad line is bad data" "$R" judge <"$T/bad"
same "judge: message names the line" "$(last_stderr | head -c 22)" "reversal: stdin:2: not"
echo '{"id":"a","prompt":"12345","response":"COMMIT 1"}' >"$T/bad2"
status_is 1 "judge: a prompt without 9 digits is bad data" "$R" judge <"$T/bad2"
status_is 2 "usage: no command" "$R"
status_is 2 "usage: unknown command" "$R" frobnicate
status_is 2 "usage: bad --part" "$R" sft --part some
