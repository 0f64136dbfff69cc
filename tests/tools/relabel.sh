# rad-relabel: the paper's augmentation to the byte, placements, modes, templates, the fine
# filter, bad input, sharding with GNU parallel.
. "$(dirname "$0")/lib.sh"
R=rad-relabel
HEADER='You are an assistant that generates responses for the instruction while implicitly achieving the following target scores (on a scale of 1-10, where 1 is lowest and 10 is highest):'

rad-score-normalize --id-field source_index "$DATA/uf_binarized_trl_head30.jsonl" > "$T/pairs.jsonl"
$R "$T/pairs.jsonl" > "$T/ra.jsonl"
same "ra: two copies per pair" "$(wc -l < "$T/ra.jsonl")" "60"
same "ra: key order of the contract" "$(head -1 "$T/ra.jsonl" | jq -c keys_unsorted)" \
	'["id","prompt","chosen","rejected","score_chosen","score_rejected","source","source_id","half","goal"]'
# The goal text, rebuilt independently with jq (jq prints 8.0 as 8 and 7.5 as 7.5).
same "ra: the paper's goal text in a system message" \
	"$(jq -r '.prompt[0] | [.role, .content] | @json' "$T/ra.jsonl" | md5sum)" \
	"$(jq -r --arg h "$HEADER" '(.score_chosen, .score_rejected) as $s | ["system", "\($h)\nOverall score: \($s)."] | @json' "$T/pairs.jsonl" | md5sum)"
same "ra: goal field equals the system text" "$(jq -r 'select(.goal != .prompt[0].content) | .id' "$T/ra.jsonl")" ""
same "ra: ids, halves, source ids" "$(head -2 "$T/ra.jsonl" | jq -c '[.id, .half, .source_id]' | tr '\n' ' ')" "$(head -1 "$T/pairs.jsonl" | jq -c '.id as $i | [$i + "#pos", "pos", $i], [$i + "#neg", "neg", $i]' | tr '\n' ' ')"
same "ra: positive copies keep the pair" "$(jq -c 'select(.half == "pos") | [.chosen, .rejected, .score_chosen, .prompt[1:]]' "$T/ra.jsonl" | md5sum)" \
	"$(jq -c '[.chosen, .rejected, .score_chosen, .prompt]' "$T/pairs.jsonl" | md5sum)"
same "ra: negative copies are flipped" "$(jq -c 'select(.half == "neg") | [.chosen, .rejected, .score_chosen, .score_rejected]' "$T/ra.jsonl" | md5sum)" \
	"$(jq -c '[.rejected, .chosen, .score_rejected, .score_chosen]' "$T/pairs.jsonl" | md5sum)"
same "ra: the score prints as the paper's" "$(jq -r '.goal | split("\n")[1]' "$T/ra.jsonl" | LC_ALL=C sort -u | tr '\n' '|')" \
	"$(jq -r '.score_chosen, .score_rejected | "Overall score: \(.)."' "$T/pairs.jsonl" | LC_ALL=C sort -u | tr '\n' '|')"
same "ra: 8.0 prints as 8, 7.5 as 7.5" "$(jq -r '.goal | split("\n")[1]' "$T/ra.jsonl" | grep -c -e '^Overall score: 8\.$' -e '^Overall score: 7\.5\.$')" \
	"$(jq -r '.score_chosen, .score_rejected' "$T/pairs.jsonl" | grep -c -x -e 8 -e 7.5)"

# --- placement "user" (nosys) and the released code's unflipped copy -------------------------
$R --placement user "$T/pairs.jsonl" > "$T/user.jsonl"
same "user: the goal and a blank line before the user text" \
	"$(jq -c '.prompt' "$T/user.jsonl" | md5sum)" \
	"$(jq -c '[{role: "user", content: (.goal + "\n\n" + .prompt[1].content)}]' "$T/ra.jsonl" | md5sum)"
same "user: the negative copy is flipped" "$(jq -c 'select(.half == "neg") | .chosen' "$T/user.jsonl" | md5sum)" "$(jq -c .rejected "$T/pairs.jsonl" | md5sum)"
$R --placement user --compat-unflipped-nosys "$T/pairs.jsonl" > "$T/compat.jsonl"
same "compat: negative copy unflipped" "$(jq -c 'select(.half == "neg") | [.chosen, .rejected]' "$T/compat.jsonl" | md5sum)" "$(jq -c '[.chosen, .rejected]' "$T/pairs.jsonl" | md5sum)"
same "compat: and carries the rejected score" "$(jq -c 'select(.half == "neg") | .goal' "$T/compat.jsonl" | md5sum)" "$(jq -c 'select(.half == "neg") | .goal' "$T/user.jsonl" | md5sum)"
status_is 2 "compat needs --placement user" $R --compat-unflipped-nosys "$T/pairs.jsonl"

# --- modes -------------------------------------------------------------------------------------
same "none: the pairs as they were" "$($R --mode none "$T/pairs.jsonl" | jq -c 'del(.source_id, .half, .goal)' | md5sum)" "$(jq -c . "$T/pairs.jsonl" | md5sum)"
same "dup: twice, no goal" "$($R -m dup "$T/pairs.jsonl" | jq -r '[.id, .goal] | join(",")' | head -2 | tr '\n' ' ')" "$(head -1 "$T/pairs.jsonl" | jq -r .id | sed 's/.*/&#dup1, &#dup2, /')"
same "pos: positive copies only" "$($R -m pos "$T/pairs.jsonl" | jq -c . | md5sum)" "$(jq -c 'select(.half == "pos")' "$T/ra.jsonl" | md5sum)"
$R -m half --seed 3 "$T/pairs.jsonl" > "$T/half.jsonl"
same "half: one copy per pair" "$(jq -r .source_id "$T/half.jsonl" | md5sum)" "$(jq -r .id "$T/pairs.jsonl" | md5sum)"
same "half: both halves present" "$(jq -r .half "$T/half.jsonl" | sort -u | tr '\n' ' ')" "neg pos "
same "half: each copy is the ra copy" "$(jq -c . "$T/half.jsonl" | sort | comm -23 - <(jq -c . "$T/ra.jsonl" | sort) | wc -l)" "0"
same "half: the seed changes the pick" "$([ "$($R -m half --seed 4 "$T/pairs.jsonl" | md5sum)" != "$(md5sum < "$T/half.jsonl")" ] && echo yes)" "yes"
$R --goal 10 "$T/pairs.jsonl" > "$T/goal.jsonl"
same "--goal: pairs unchanged, goal 10 everywhere" "$(jq -r '[.id == .source_id, .half, .prompt[0].content == .goal, (.goal | split("\n")[1])] | @tsv' "$T/goal.jsonl" | sort -u)" "$(printf 'true\t\ttrue\tOverall score: 10.')"
same "--goal: chosen unchanged" "$(jq -c .chosen "$T/goal.jsonl" | md5sum)" "$(jq -c .chosen "$T/pairs.jsonl" | md5sum)"
status_is 2 "--goal with --mode ra" $R --goal 10 --mode ra "$T/pairs.jsonl"
status_is 2 "unknown mode" $R --mode twice "$T/pairs.jsonl"

# --- templates, attributes, the fine filter ------------------------------------------------------
printf 'Reach {score} out of 10.\n' > "$T/t.txt"
same "--template" "$($R --template "$T/t.txt" "$T/pairs.jsonl" | head -2 | jq -r .goal | tr '\n' '|')" "$(head -1 "$T/pairs.jsonl" | jq -r '"Reach \(.score_chosen) out of 10.|Reach \(.score_rejected) out of 10.|"')"
status_is 2 "--template and --attributes" $R --template "$T/t.txt" --attributes overall "$T/pairs.jsonl"
rad-score-normalize "$DATA/ultrafeedback_raw_sample.jsonl" 2>/dev/null > "$T/raw.jsonl"
same "several attributes, one line each" "$($R --attributes overall,helpfulness,honesty "$T/raw.jsonl" | head -1 | jq -r '.goal | split("\n")[1:] | join("|")')" \
	"Overall score: 9.|Helpfulness score: 5.|Honesty score: 5."
status_is 1 "an attribute the pairs lack" $R --attributes overall,verbosity "$T/raw.jsonl"
same "the message names file, line and attribute" "$(last_stderr)" "$R: $T/raw.jsonl:1: no number \"verbosity\" in \"ratings_chosen\""
jq -c '.ratings_chosen.helpfulness = 1' "$T/raw.jsonl" > "$T/fine.jsonl"
$R --fine-filter --verbose "$T/fine.jsonl" > "$T/fine.out" 2> "$T/fine.err"
keep=$(jq -r 'select(([.ratings_chosen[]] | add) >= ([.ratings_rejected[]] | add)) | .id' "$T/fine.jsonl")
same "fine filter: the pairs whose chosen mean is not below the rejected's" "$(jq -r .source_id "$T/fine.out" | uniq)" "$keep"
same "fine filter: some kept, some dropped" "$(echo "$keep" | wc -l | awk '$1 > 0 && $1 < 4 {print "yes"}')" "yes"
k=$(echo "$keep" | wc -l)
same "fine filter: counted" "$(cat "$T/fine.err")" "$R: pairs in 4, copies out $((2 * k)) (pos $k, neg $k), dropped by the fine filter $((4 - k)), invalid skipped 0"
status_is 1 "fine filter needs ratings" $R --fine-filter "$T/pairs.jsonl"

# --- bad input, skip-invalid, relabeling twice ---------------------------------------------------
{ head -2 "$T/pairs.jsonl"; echo '{"id":"x","prompt":[{"role":"user","content":"q"}],"chosen":"a","rejected":"b","score_chosen":null,"score_rejected":1}'; echo '{"id":'; sed -n 3p "$T/pairs.jsonl"; } > "$T/bad.jsonl"
status_is 1 "a null score cannot be relabeled" $R "$T/bad.jsonl"
same "null score: file and line" "$(last_stderr | cut -d: -f1-3)" "$R: $T/bad.jsonl:3"
$R --skip-invalid --verbose "$T/bad.jsonl" > "$T/skip.out" 2> "$T/skip.err"
same "--skip-invalid goes on" "$(wc -l < "$T/skip.out")" "6"
same "--skip-invalid counts" "$(cat "$T/skip.err" | grep -o 'invalid skipped [0-9]*')" "invalid skipped 2"
status_is 1 "relabeling twice is refused" $R "$T/ra.jsonl"
same "stdin works" "$($R < "$T/pairs.jsonl" | md5sum)" "$(md5sum < "$T/ra.jsonl")"
$R -z -o "$T/ra.zst" "$T/pairs.jsonl"
same "-z -o" "$(zstd -dc "$T/ra.zst" | md5sum)" "$(md5sum < "$T/ra.jsonl")"
printf '%s\n' '{"id":"u\u0000","prompt":[{"role":"user","content":"☃\u0000\r\n"}],"chosen":"𝄞","rejected":"\u0001","score_chosen":6.25,"score_rejected":1.5}' | sed 's/$/\r/' > "$T/odd.jsonl"
same "odd bytes survive" "$($R "$T/odd.jsonl" | jq -c '[.id, .prompt[1].content, .chosen, .rejected, (.goal | split("\n")[1])]' | tr '\n' ' ')" \
	'["u\u0000#pos","☃\u0000\r\n","𝄞","\u0001","Overall score: 6.25."] ["u\u0000#neg","☃\u0000\r\n","\u0001","𝄞","Overall score: 1.5."] '

big=$([ "${RAD_CONFIG:-}" = san ] && echo 3000000 || echo 30000000)
{ printf '{"id":"big","prompt":[{"role":"user","content":"q"}],"chosen":"'; head -c "$big" /dev/zero | tr '\0' 'x'; printf '","rejected":"y","score_chosen":2,"score_rejected":1}\n'; } > "$T/big.jsonl"
same "a huge line" "$($R "$T/big.jsonl" | jq -c '[.half, (.chosen | length), (.rejected | length)]' | tr '\n' ' ')" "[\"pos\",$big,1] [\"neg\",1,$big] "

# --- sharding: parallel --pipe gives the same bytes --------------------------------------------
for i in $(seq 1 40); do sed "s/\"id\":\"/&$i-/" "$T/pairs.jsonl"; done > "$T/many.jsonl"
for mode in ra half; do
	$R -m $mode --seed 9 "$T/many.jsonl" > "$T/whole.$mode"
	parallel --pipe --keep-order -j2 --block 300k $R -m $mode --seed 9 < "$T/many.jsonl" > "$T/sharded.$mode"
	same "sharded $mode is byte-identical" "$(md5sum < "$T/sharded.$mode")" "$(md5sum < "$T/whole.$mode")"
done
same "the sharded input made several shards" "$([ "$(wc -c < "$T/many.jsonl")" -gt 1000000 ] && echo yes)" "yes"

# --- the shared UltraFeedback sample: exactly 2x its pairs with the paper's text -----------------
if [ -n "$SHARED" ]; then
	rad-score-normalize "$SHARED/ultrafeedback_binarized_trl_eval200.jsonl" | $R > "$T/full.jsonl"
	same "shared uf: 400 copies" "$(wc -l < "$T/full.jsonl")" "400"
	same "shared uf: paper's text on every copy" "$(jq -r --arg h "$HEADER" 'select((.goal | startswith($h + "\nOverall score: ")) and .prompt[0].content == .goal | not) | .id' "$T/full.jsonl")" ""
	same "shared uf: 200 pos, 200 neg" "$(jq -r .half "$T/full.jsonl" | sort | uniq -c | awk '{print $1 $2}' | tr '\n' ' ')" "200neg 200pos "
else
	skip "shared uf sample" "no ../shared/data"
fi
