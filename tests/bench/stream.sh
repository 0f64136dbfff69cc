# Binary stream: write + read throughput of PAIR records at a few zstd levels.
set -eu
f=$(mktemp)
trap 'rm -f "$f"' EXIT
for level in 1 3 9; do "$RAD_BENCH/stream_rw" "$f" 20000 $level; done
