#!/usr/bin/env bash
# engine.sh — the ceilings of one core of this machine, measured with loops that touch no
# memory (fp32 FMA, bf16 dot products: tests/bench/ceiling.c), and the matrix products of
# a training step at its real shapes, each alone on one thread: OpenBLAS's sgemm as rad
# ran it before (its kernel chosen by OPENBLAS_CORETYPE, when libopenblas.so.0 is
# installed) beside rad's engine, oneDNN, in fp32 and with bf16 inputs; GFLOP/s of CPU
# time, and the kernel oneDNN chose from the CPU's instruction sets.
set -u
BENCH=${RAD_BENCH:-build/opt/bench}
[ -x "$BENCH/ceiling" ] && [ -x "$BENCH/gemm_shapes" ] || { echo "no $BENCH/ceiling or gemm_shapes: run make bench"; exit 1; }
c=$("$BENCH/ceiling")
jq -r '"one core: fp32 \(.fp32) GFLOP/s (\(.fp32_isa)), bf16 \(.bf16 // "-") GFLOP/s (\(.bf16_isa))"' <<<"$c"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
echo
echo "GPT-2 124M, a DPO step of 1,024 tokens (512 completion rows):"
"$BENCH/gemm_shapes" 768 2304 3072 0 50257 1024 512
echo
echo "SmolLM2-135M shape, the same batch:"
"$BENCH/gemm_shapes" 576 960 1536 1 49152 1024 512
