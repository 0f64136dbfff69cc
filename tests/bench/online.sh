# On-policy speed (indicative: the machine is shared; CPU seconds of the process are the
# figures, wall beside them):
#  - generation of K samples of each of P prompts from one prefill each (rad-eval generate
#    --samples K --batch-size P) against K separate copies of each prompt decoded together
#    (--batch-size P x K, K prefills each), K = 1, 4, 8, on a small GPT-2 (4 layers, width
#    256) with long prompts; greedy, so that both ways decode the same tokens and differ
#    only in the prefills;
#  - reward-model scoring (rad-eval reward) in sequences per CPU second, next to rad-logps
#    on the same sequences (each pair's chosen and rejected), for the small shape and
#    GPT-2 124M's (12 layers, width 768, vocabulary 50257).
set -u
BIN=${RAD_BIN:-bin}
TOP=$(cd "$(dirname "$0")/../.." && pwd)
TOK=$TOP/pipelines/demo/tokenizer.json
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
TH=${RAD_BENCH_THREADS:-1}
export OMP_NUM_THREADS=$TH OMP_WAIT_POLICY=PASSIVE
NP=${RAD_BENCH_PROMPT_BYTES:-400} NN=${RAD_BENCH_NEW:-64}
# cpu CMD...: runs CMD, prints "USER+SYS" CPU seconds and wall seconds
cpu() { /usr/bin/time -f '%U %S %e' -o "$T/time" "$@" && awk '{ printf "%.3f %.3f", $1 + $2, $3 }' "$T/time"; }

"$BIN/rad-init" --tokenizer "$TOK" --layers 4 --heads 4 --dim 256 --context 512 --seed 1 -o "$T/small" >/dev/null
P=${RAD_BENCH_PROMPTS:-4}
for i in $(seq 1 "$P"); do
	jq -nc --arg p "$(head -c $((NP * 3)) /dev/urandom | tr -dc '0-9a-z ' | head -c "$NP")" --arg id "p$i" '{id: $id, prompt: $p}'
done >"$T/prompts.jsonl"
echo "generation: small GPT-2 (L4 H4 C256, demo tokenizer), $P prompts of $NP bytes, $NN new tokens, greedy, $TH thread(s)"
gen() { cpu "$BIN/rad-eval" generate -m "$T/small" --tokenizer "$TOK" --max-new-tokens "$NN" --temperature 0 --threads "$TH" "$@" -o "$T/out"; }
for K in 1 4 8; do
	jq -c --argjson k "$K" '. as $r | range($k) | $r + {id: "\($r.id)-\(.)"}' "$T/prompts.jsonl" >"$T/copies.jsonl"
	read -r c1 w1 < <(gen --samples "$K" --batch-size "$P" "$T/prompts.jsonl")
	n1=$(jq -s 'map(.tokens) | add' "$T/out")
	read -r c2 w2 < <(gen --batch-size $((P * K)) "$T/copies.jsonl")
	n2=$(jq -s 'map(.tokens) | add' "$T/out")
	awk -v k="$K" -v p="$P" -v c1="$c1" -v w1="$w1" -v n1="$n1" -v c2="$c2" -v w2="$w2" -v n2="$n2" 'BEGIN {
		a = n1 / c1; b = n2 / c2
		printf "  K=%d: --samples %d: %.0f tokens/cpu-s (%d tokens, cpu %.2f s, wall %.2f s); %d prompts: %.0f tokens/cpu-s (%d tokens, cpu %.2f s, wall %.2f s); %.2fx\n",
			k, k, a, n1, c1, w1, p * k, b, n2, c2, w2, a / b }'
done

# reward vs logps: S pairs of demo prompts and answers, 2S sequences
S=${RAD_BENCH_PAIRS:-8}
"$TOP/build/opt/pipelines/demo/reversal" prefs -n $((2 * S)) --seed 4 2>/dev/null | "$BIN/rad-score-normalize" 2>/dev/null \
	| head -n "$S" | "$BIN/rad-relabel" --mode none >"$T/pairs.jsonl"
"$BIN/rad-tokenize" -t "$TOK" "$T/pairs.jsonl" 2>/dev/null | "$BIN/rad-pack" -p 8 -o "$T/b.rad" 2>/dev/null
# each pair's chosen and rejected as a generated response, for the reward model
jq -c '{id: (.id + "-c"), prompt, response: .chosen}, {id: (.id + "-r"), prompt, response: .rejected}' \
	"$T/pairs.jsonl" >"$T/resp.jsonl"
nseq=$(wc -l <"$T/resp.jsonl")
# rad-logps reads the same sequences: each pair's two
[ "$nseq" = "$("$BIN/rad-dump" "$T/b.rad" | jq -s 'map(.rows // 0) | add')" ] || echo "  (rad-logps reads another number of sequences)"
for shape in small 124M; do
	case $shape in
	small) a=(--layers 4 --heads 4 --dim 256) ;;
	124M) a=(--vocab 50257 --layers 12 --heads 12 --dim 768) ;;
	esac
	"$BIN/rad-init" --tokenizer "$TOK" "${a[@]}" --context 512 --seed 1 -o "$T/lm" >/dev/null 2>&1
	"$BIN/rad-init" --tokenizer "$TOK" "${a[@]}" --context 512 --seed 1 --reward-head 1 -o "$T/rm" >/dev/null 2>&1
	read -r cr wr < <(cpu "$BIN/rad-eval" reward -m "$T/rm" --tokenizer "$TOK" --threads "$TH" "$T/resp.jsonl" -o "$T/scored")
	read -r cl wl < <(cpu "$BIN/rad-logps" -m "$T/lm" --threads "$TH" "$T/b.rad" -o "$T/ref.rad")
	awk -v s="$shape" -v th="$TH" -v n="$nseq" -v cr="$cr" -v wr="$wr" -v cl="$cl" -v wl="$wl" 'BEGIN {
		printf "reward, %s shape, %d sequences, %s thread(s): rad-eval reward %.1f sequences/cpu-s (cpu %.2f s, wall %.2f s); rad-logps %.1f (cpu %.2f s, wall %.2f s)\n",
			s, n, th, n / cr, cr, wr, n / cl, cl, wl }'
done
