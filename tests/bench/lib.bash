# lib.bash — what the benchmarks share (sourced; make bench runs the *.sh files only): the
# tools of RAD_BIN (default bin/) first on PATH, a scratch directory $T removed at exit,
# and the models of RAD_BENCH_CONFIGS in $configs.
export PATH=${RAD_BIN:-$TOP/bin}:$PATH
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
configs=${RAD_BENCH_CONFIGS:-small gpt2}

# bench_model CFG DIR: a GPT-2-shaped model with GPT-2's vocabulary and context, seed 1,
# into DIR; sets L, H, C (layers, heads, width).  CFG is small (4 layers, width 256) or
# gpt2 (GPT-2 small, 124M).
bench_model() {
	case $1 in
	small) L=4 H=4 C=256 ;;
	gpt2) L=12 H=12 C=768 ;;
	*) echo "unknown config $1"; exit 2 ;;
	esac
	rad-init --vocab 50257 --layers $L --heads $H --dim $C --context 1024 --seed 1 -o "$2" || exit 1
}
