# rad-score-normalize and rad-relabel throughput on ~200 MB of UltraFeedback pairs (the
# sample repeated, ids made unique), against jq doing the same work, on one core and
# under `parallel --pipe` on two.  RAD_BENCH_MB sets the size.  Indicative: the machine
# is shared: one-core ratios use CPU seconds; two-core scaling can only use wall seconds,
# which other work on the machine inflates (the load average is printed).
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${RAD_BIN:-$TOP/bin}
MB=${RAD_BENCH_MB:-200}
src=$TOP/../shared/data/ultrafeedback_binarized_trl_eval200.jsonl
[ -f "$src" ] || src=$TOP/tests/data/uf_binarized_trl_head30.jsonl
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

# The raw input (TRL shape) and its canonical pairs, repeated to about MB megabytes.
per=$(wc -c < "$src")
reps=$(( MB * 1000000 / per + 1 ))
awk -v n="$reps" '{ line[NR] = $0 } END { for (r = 0; r < n; r++) for (i = 1; i <= NR; i++) { s = line[i]; sub(/^\{/, "{\"id\": \"" r "-" i "\", ", s); print s } }' "$src" > "$d/trl.jsonl"
"$BIN/rad-score-normalize" "$d/trl.jsonl" > "$d/pairs.jsonl"

HEADER='You are an assistant that generates responses for the instruction while implicitly achieving the following target scores (on a scale of 1-10, where 1 is lowest and 10 is highest):'
# (The header goes into the program as a string literal: a command line with it would be
# split by the shell that parallel runs jobs in.)
{ printf 'def header: %s;\n' "$(jq -n --arg h "$HEADER" '$h')"; cat <<'JQ'
def goal(s): "\(header)\nOverall score: \(s).";
def put(g): if .prompt[0].role == "system"
	then [.prompt[0] | .content = g + "\n\n" + .content] + .prompt[1:]
	else [{role: "system", content: g}] + .prompt end;
. as $p
| ({id: ($p.id + "#pos"), prompt: ($p | put(goal($p.score_chosen))), chosen: $p.chosen, rejected: $p.rejected,
    score_chosen: $p.score_chosen, score_rejected: $p.score_rejected, source: $p.source,
    source_id: $p.id, half: "pos", goal: goal($p.score_chosen)}),
  ({id: ($p.id + "#neg"), prompt: ($p | put(goal($p.score_rejected))), chosen: $p.rejected, rejected: $p.chosen,
    score_chosen: $p.score_rejected, score_rejected: $p.score_chosen, source: $p.source,
    source_id: $p.id, half: "neg", goal: goal($p.score_rejected)})
JQ
} > "$d/relabel.jq"
cat > "$d/normalize.jq" <<'JQ'
{id, prompt: [{role: "user", content: .prompt}], chosen, rejected,
 score_chosen: .metadata.score_chosen, score_rejected: .metadata.score_rejected, source: {format: "trl"}}
JQ

# The jq programs do the same work: check on the first 400 lines (jq prints 8.0 as 8).
head -400 "$d/pairs.jsonl" > "$d/small.jsonl"
if [ "$("$BIN/rad-relabel" "$d/small.jsonl" | jq -c . | md5sum)" = "$(jq -c -f "$d/relabel.jq" "$d/small.jsonl" | md5sum)" ] &&
   [ "$(head -400 "$d/trl.jsonl" | "$BIN/rad-score-normalize" | jq -c . | md5sum)" = "$(head -400 "$d/trl.jsonl" | jq -c -f "$d/normalize.jq" | md5sum)" ]
then echo "jq programs agree with the tools on 400 records"
else echo "jq programs DISAGREE with the tools"; exit 1; fi

# run NAME INPUT CMD...: CPU seconds (user+sys of the command and the children it waits
# for) and wall seconds; MB/s both ways.
run() {
	local name=$1 in=$2; shift 2
	local t0 t1 r mb cpu wall
	t0=$(date +%s.%N)
	if ! /usr/bin/time -o "$d/time" -f '%U %S' "$@" < "$in" > /dev/null; then
		echo "$name: the command failed"; exit 1
	fi
	r=$(tail -1 "$d/time")
	t1=$(date +%s.%N)
	mb=$(awk -v b="$(wc -c < "$in")" 'BEGIN { printf "%.1f", b / 1e6 }')
	cpu=$(awk -v u="${r% *}" -v s="${r#* }" 'BEGIN { printf "%.2f", u + s }')
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	printf '%-40s %6s MB  cpu %6s s %7.1f MB/s   wall %6s s %7.1f MB/s\n' "$name" "$mb" "$cpu" \
		"$(awk -v m="$mb" -v c="$cpu" 'BEGIN { print m / c }')" "$wall" "$(awk -v m="$mb" -v w="$wall" 'BEGIN { print m / w }')"
	echo "$name|$(awk -v m="$mb" -v c="$cpu" 'BEGIN { print m / c }')|$(awk -v m="$mb" -v w="$wall" 'BEGIN { print m / w }')" >> "$d/rates"
}
cpu_rate() { awk -F'|' -v n="$1" '$1 == n { print $2 }' "$d/rates"; }
wall_rate() { awk -F'|' -v n="$1" '$1 == n { print $3 }' "$d/rates"; }

echo "input: $(wc -l < "$d/pairs.jsonl") pairs; load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
run "rad-relabel, 1 core" "$d/pairs.jsonl" "$BIN/rad-relabel"
run "jq relabel, 1 core" "$d/pairs.jsonl" jq -c -f "$d/relabel.jq"
run "rad-score-normalize, 1 core" "$d/trl.jsonl" "$BIN/rad-score-normalize"
run "jq normalize, 1 core" "$d/trl.jsonl" jq -c -f "$d/normalize.jq"
# Two cores: --pipepart lets each job read its part of the file itself; --pipe sends every
# byte through parallel's own (perl) process, which then competes for the two cores.
run "rad-relabel, parallel --pipepart -j2" "$d/pairs.jsonl" parallel --pipepart -a "$d/pairs.jsonl" --keep-order -j2 --block -2 "$BIN/rad-relabel"
run "rad-relabel, parallel --pipe -j2" "$d/pairs.jsonl" parallel --pipe --keep-order -j2 --block 16M "$BIN/rad-relabel"
run "rad-score-normalize, parallel --pipepart -j2" "$d/trl.jsonl" parallel --pipepart -a "$d/trl.jsonl" --keep-order -j2 --block -2 "$BIN/rad-score-normalize"
run "jq relabel, parallel --pipepart -j2" "$d/pairs.jsonl" parallel --pipepart -a "$d/pairs.jsonl" --keep-order -j2 --block -2 jq -c -f "$d/relabel.jq"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v a="$(cpu_rate 'rad-relabel, 1 core')" -v b="$(cpu_rate 'jq relabel, 1 core')" \
	-v c="$(cpu_rate 'rad-score-normalize, 1 core')" -v e="$(cpu_rate 'jq normalize, 1 core')" \
	-v w1="$(wall_rate 'rad-relabel, 1 core')" -v w2="$(wall_rate 'rad-relabel, parallel --pipepart -j2')" \
	-v j2="$(wall_rate 'jq relabel, parallel --pipepart -j2')" \
	'BEGIN { printf "ratios: rad-relabel / jq %.1fx and rad-score-normalize / jq %.1fx (one core, CPU time); rad-relabel two cores / one core %.2fx and rad-relabel / jq on two cores %.1fx (wall time)\n", a / b, c / e, w2 / w1, w2 / j2 }'
