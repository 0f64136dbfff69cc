# pipelines/lib.sh — what the pipelines share: stages that write to a temporary name and
# rename when complete, skipping of up-to-date stages, the run lock, wall times, sharding.
#
#   . pipelines/lib.sh
#   rad_lock "$WORK"                                  # one run per work directory
#   stage OUT INPUT... -- 'COMMAND'                   # COMMAND (a string) writes "$tmp"
#   shard_jsonl COMMAND...                            # stdin JSONL -> stdout, by GNU Parallel
#
# A stage runs when OUT is missing or older than one of its INPUTs; COMMAND, a string
# evaluated in the calling shell (so its functions and variables are seen, and "$tmp" is
# expanded when the stage runs), writes to $tmp (OUT.tmp), which is renamed to OUT when
# COMMAND succeeds.  A directory left at
# $tmp by a killed run is kept, so a trainer can resume from it; a file there is removed.
# Each stage's wall time is appended to $RAD_TIMES (stage<TAB>seconds) when it is set.
#
# Sharding: RAD_JOBS (default 1: no sharding) jobs, RAD_SSHLOGIN (passed to parallel
# --sshlogin, e.g. "4/host1,4/host2,:"; the tools must be on PATH there), RAD_BLOCK (the
# size of a --pipe block, default 1M).

rad_log() { printf '%s: %s\n' "${RAD_PIPELINE:-rad}" "$*" >&2; }
rad_fail() { rad_log "$*"; exit 1; }

# Takes an exclusive lock on DIR/.lock for the rest of the script (fd 9); a second run on
# the same directory stops at once with a message instead of colliding.
rad_lock() {
	mkdir -p "$1" || rad_fail "$1: cannot create"
	exec 9>"$1/.lock"
	flock -n 9 || rad_fail "$1: another run holds $1/.lock"
}

# stage OUT INPUT... -- 'COMMAND'
stage() {
	local out=$1 i stale=0 t0 t1
	shift
	local ins=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ins+=("$1"); shift; done
	[ "${1:-}" = -- ] || rad_fail "stage $out: no -- before the command"
	shift
	if [ -e "$out" ]; then
		for i in "${ins[@]}"; do
			[ -e "$i" ] || rad_fail "stage $out: input $i is missing"
			[ "$i" -nt "$out" ] && stale=1
		done
		if [ "$stale" = 0 ]; then
			[ -n "${RAD_VERBOSE:-}" ] && rad_log "up to date: $out"
			return 0
		fi
		rm -rf "$out"
	fi
	tmp=$out.tmp
	[ -d "$tmp" ] || rm -f "$tmp"
	[ -n "${RAD_VERBOSE:-}" ] && rad_log "making $out"
	t0=$(date +%s.%N)
	eval "$*" || rad_fail "stage $out failed: $*"
	[ -e "$tmp" ] || rad_fail "stage $out: the command wrote nothing to $tmp"
	mv -T "$tmp" "$out" || rad_fail "stage $out: cannot rename $tmp"
	touch "$out"
	t1=$(date +%s.%N)
	[ -n "${RAD_TIMES:-}" ] && printf '%s\t%.2f\n' "$out" "$(echo "$t1 - $t0" | bc)" >>"$RAD_TIMES"
	return 0
}

# The arguments GNU Parallel gets for a sharded run.
_rad_parallel_args() {
	local a=(--will-cite --pipe --keep-order --halt now,fail=1 -j "${RAD_JOBS:-1}" --block "${RAD_BLOCK:-1M}")
	[ -n "${RAD_SSHLOGIN:-}" ] && a+=(--sshlogin "$RAD_SSHLOGIN")
	printf '%s\n' "${a[@]}"
}

# shard_jsonl COMMAND ARG...: JSONL on stdin, split on line ends into blocks, each block
# through COMMAND, outputs in input order.  The tools key every random choice by record
# identity, so the result is the same bytes as COMMAND on the whole input.  With
# RAD_JOBS=1 and no RAD_SSHLOGIN the command runs directly.  COMMAND and its arguments are
# quoted for the remote shell.
shard_jsonl() {
	if [ "${RAD_JOBS:-1}" = 1 ] && [ -z "${RAD_SSHLOGIN:-}" ]; then "$@"; return; fi
	local args
	mapfile -t args < <(_rad_parallel_args)
	parallel "${args[@]}" --quote "$@"
}

# shard_tokenize ARG...: rad-tokenize over JSONL blocks.  Every shard writes a complete
# stream; concatenated streams are one stream (rad-stream(5)).
shard_tokenize() { shard_jsonl rad-tokenize "$@"; }

# shard_batches COMMAND ARG...: a batch-stream filter (rad-logps) over shards of batches.
# The binary stream is shown as JSON Lines (rad-dump --header: a HEAD line, then one
# record per line), cut into blocks of whole records, each with the HEAD line in front
# (parallel --header 1), turned back into a stream, filtered, and shown again; the HEAD
# lines after the first are dropped and the result is encoded once more.  The filtered
# stream is then the same bytes as the filter on the whole stream.
shard_batches() {
	if [ "${RAD_JOBS:-1}" = 1 ] && [ -z "${RAD_SSHLOGIN:-}" ]; then "$@"; return; fi
	local args q
	mapfile -t args < <(_rad_parallel_args)
	q=$(printf '%q ' "$@")
	rad-dump --header - \
		| parallel "${args[@]}" --header 1 "rad-dump --encode | $q | rad-dump --header -" \
		| awk 'NR == 1 || !/^\{"type":"HEAD"/' \
		| rad-dump --encode
}
