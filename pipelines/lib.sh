# pipelines/lib.sh — what the pipelines share: stages that write to a temporary name and
# rename when complete, skipping of stages whose recipe has not changed, the run lock,
# wall times, sharding.
#
#   . pipelines/lib.sh
#   rad_lock "$WORK"                                  # one run per work directory
#   stage OUT INPUT... -- 'COMMAND'                   # COMMAND (a string) writes "$tmp"
#   shard_jsonl COMMAND...                            # stdin JSONL -> stdout, by GNU Parallel
#
# COMMAND, a string evaluated in the calling shell (so its functions and variables are
# seen, and "$tmp" is expanded when the stage runs), writes to $tmp (OUT.tmp), which is
# renamed to OUT when COMMAND succeeds.
#
# A stage is keyed by its recipe: the command text, the value of every variable it names
# (arrays whole), the text of every shell function it calls and, through them, their
# variables and functions, and the size and modification time of each INPUT.  The recipe
# is recorded in .stages/OUT (JSON: command, vars, functions, inputs) when OUT is made; a
# stage runs again when OUT is missing or its recipe differs in anything, so a changed
# option, another model or an input replaced even by an older file remakes what depends
# on it, and what depends on that (its input changed).  The sharding variables and
# helpers (RAD_JOBS, RAD_SSHLOGIN, RAD_BLOCK, shard_*) are not part of a recipe: sharding
# gives the same bytes.  A directory left at $tmp by a killed run of the same recipe is
# kept, so a trainer can resume from it; of another recipe, or a file there, it is removed.
# Each stage's wall time is appended to $RAD_TIMES (stage<TAB>seconds) when it is set.
#
# Sharding: RAD_JOBS (default 1: no sharding) jobs, RAD_SSHLOGIN (passed to parallel
# --sshlogin, e.g. "4/host1,4/host2,:"; the tools must be on PATH there), RAD_BLOCK (the
# size of a --pipe block, default 1M).

rad_log() { printf '%s: %s\n' "${RAD_PIPELINE:-rad}" "$*" >&2; }
rad_fail() { rad_log "$*"; exit 1; }

# Takes an exclusive lock on DIR/.lock for the rest of the script (fd 9); a second run on
# the same directory stops at once with a message instead of colliding.  A directory that
# cannot be made or written is said so in the pipeline's name, before any stage runs.
rad_lock() {
	local err
	err=$(mkdir -p -- "$1" 2>&1) || rad_fail "$1: cannot create the work directory: ${err##*: }"
	[ -d "$1" ] || rad_fail "$1: not a directory"
	# test -w says yes to root on a read-only file system: try to write
	err=$( { : >>"$1/.lock"; } 2>&1) || rad_fail "$1: the work directory is not writable: ${err##*: }"
	err=$( { : >"$1/.rad-write-test" && rm -f "$1/.rad-write-test"; } 2>&1) ||
		rad_fail "$1: the work directory is not writable: ${err##*: }"
	exec 9>>"$1/.lock"
	flock -n 9 || rad_fail "$1: another run holds $1/.lock"
}

# Not part of any recipe: they change how the work is spread, not what it makes.
RAD_STAGE_UNKEYED=" tmp RAD_JOBS RAD_SSHLOGIN RAD_BLOCK RAD_VERBOSE RAD_TIMES RAD_PIPELINE shard_jsonl shard_tokenize
	shard_batches _rad_parallel_args rad_log rad_fail stage _json_str _stage_recipe "

# _json_str VALUE: VALUE as a JSON string, in _json (no subshell: a recipe is made for every
# stage of every run).
_json_str() {
	local v=$1 c i out=""
	v=${v//\\/\\\\}
	v=${v//\"/\\\"}
	v=${v//$'\n'/\\n}
	v=${v//$'\t'/\\t}
	v=${v//$'\r'/\\r}
	if [[ $v == *[$'\001'-$'\037']* ]]; then   # the other control characters, one by one
		for ((i = 0; i < ${#v}; i++)); do
			c=${v:i:1}
			if [[ $c == [$'\001'-$'\037'] ]]; then printf -v c '\\u%04x' "'$c"; fi
			out+=$c
		done
		v=$out
	fi
	_json="\"$v\""
}

# _stage_recipe COMMAND INPUT...: the recipe of a stage as one line of JSON, in _recipe:
# {"command", "vars", "functions", "inputs"}, each in the order first met.
_stage_recipe() {
	local seen=" " todo=("$1") text w rest vars="" funcs="" ins="" d sep el i
	_json_str "$1"
	_recipe="{\"command\":$_json"
	shift
	while [ ${#todo[@]} -gt 0 ]; do
		text=${todo[0]}
		todo=("${todo[@]:1}")
		# the functions it calls
		for w in ${text//[^A-Za-z0-9_-]/ }; do
			[[ $w == [A-Za-z_]* ]] || continue
			case $seen$RAD_STAGE_UNKEYED in *" $w "*) continue ;; esac
			declare -F "$w" >/dev/null || continue
			seen+="$w "
			d=$(declare -f "$w")
			_json_str "$d"
			funcs+="${funcs:+,}\"$w\":$_json"
			todo+=("$d")
		done
		# the variables it names: $V, ${V...}, ${#V...}, ${!V...}
		rest=$text
		while [[ $rest =~ \$\{?[#!]?([A-Za-z_][A-Za-z0-9_]*)(.*) ]]; do
			w=${BASH_REMATCH[1]}
			rest=${BASH_REMATCH[2]}
			case $seen$RAD_STAGE_UNKEYED in *" $w "*) continue ;; esac
			seen+="$w "
			if ! declare -p "$w" >/dev/null 2>&1; then
				vars+="${vars:+,}\"$w\":null"
			elif [[ ${!w@a} == *[aA]* ]]; then
				local -n _arr=$w
				d="" sep=""
				for el in "${_arr[@]}"; do _json_str "$el"; d+="$sep$_json"; sep=,; done
				unset -n _arr
				vars+="${vars:+,}\"$w\":[$d]"
			else
				_json_str "${!w}"
				vars+="${vars:+,}\"$w\":$_json"
			fi
		done
	done
	if [ $# -gt 0 ]; then
		local stats
		mapfile -t stats < <(stat -L -c '%s %.9Y' -- "$@") || return 1
		[ ${#stats[@]} = $# ] || return 1
		for ((i = 0; i < $#; i++)); do
			_json_str "${@:i+1:1}"
			ins+="${ins:+,}$_json:\"${stats[i]}\""
		done
	fi
	_recipe+=",\"vars\":{$vars},\"functions\":{$funcs},\"inputs\":{$ins}}"
}

# stage OUT INPUT... -- 'COMMAND'
stage() {
	local out=$1 i t0 t1 recipe rec
	shift
	local ins=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do ins+=("$1"); shift; done
	[ "${1:-}" = -- ] || rad_fail "stage $out: no -- before the command"
	shift
	for i in "${ins[@]}"; do [ -e "$i" ] || rad_fail "stage $out: input $i is missing"; done
	_stage_recipe "$*" "${ins[@]}" || rad_fail "stage $out: cannot make its recipe"
	recipe=$_recipe
	rec=.stages/$out
	if [ -e "$out" ] && [ -f "$rec" ] && IFS= read -r i <"$rec" && [ "$i" = "$recipe" ]; then
		[ -n "${RAD_VERBOSE:-}" ] && rad_log "up to date: $out"
		return 0
	fi
	rm -rf "$out" "$rec"
	mkdir -p "$(dirname "$rec")" || rad_fail "stage $out: cannot write $(dirname "$rec")"
	tmp=$out.tmp
	if [ -d "$tmp" ] && [ -f "$rec.tmp" ] && IFS= read -r i <"$rec.tmp" && [ "$i" = "$recipe" ]; then
		[ -n "${RAD_VERBOSE:-}" ] && rad_log "resuming $out from $tmp"
	else
		rm -rf "$tmp"
	fi
	printf '%s\n' "$recipe" >"$rec.tmp" || rad_fail "stage $out: cannot write $rec.tmp"
	[ -n "${RAD_VERBOSE:-}" ] && rad_log "making $out"
	t0=$(date +%s.%N)
	eval "$*" || rad_fail "stage $out failed: $*"
	[ -e "$tmp" ] || rad_fail "stage $out: the command wrote nothing to $tmp"
	mv -T "$tmp" "$out" || rad_fail "stage $out: cannot rename $tmp"
	touch "$out"
	mv "$rec.tmp" "$rec" || rad_fail "stage $out: cannot write $rec"
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
