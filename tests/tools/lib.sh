# tests/tools/lib.sh — sourced by every tool test; speaks tests/run's protocol.
#
#   . "$(dirname "$0")/lib.sh"
#   ok_if   "name" cmd args...        # passes when cmd exits 0
#   status_is 1 "name" cmd args...    # passes when cmd exits with that status
#   same    "name" "$got" "$want"     # passes when the strings are equal
#   skip    "name" "why"
#
# $T is a fresh temporary directory, removed at exit; $DATA is tests/data; $SHARED is
# ../shared/data when present (tests that need it skip otherwise).  Tools are on PATH.
set -u
TOP=${RAD_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DATA=$TOP/tests/data
SHARED=""
for d in "$TOP/../shared/data" "${RAD_SHARED:-/nonexistent}"; do [ -d "$d" ] && SHARED=$d && break; done
RAD_BIN=${RAD_BIN:-$TOP/bin}
export PATH=$RAD_BIN:$PATH
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
_fails=0

ok_if() {
	local name=$1; shift
	local err
	if err=$("$@" 2>&1 >/dev/null); then echo "ok $name"
	else echo "FAIL $name: '$*' exited $? ${err:0:300}"; _fails=$((_fails + 1)); fi
}
status_is() {
	local want=$1 name=$2; shift 2
	"$@" >/dev/null 2>"$T/.stderr"; local rc=$?
	if [ "$rc" -eq "$want" ]; then echo "ok $name"
	else echo "FAIL $name: '$*' exited $rc, want $want: $(head -c 300 "$T/.stderr")"; _fails=$((_fails + 1)); fi
}
same() {
	if [ "$2" == "$3" ]; then echo "ok $1"
	else echo "FAIL $1: got '${2:0:200}', want '${3:0:200}'"; _fails=$((_fails + 1)); fi
}
skip() { echo "skip $1: $2"; }
# The stderr of the last status_is, for checking messages.
last_stderr() { cat "$T/.stderr"; }
# need_torch NAME: $py becomes a python3 with torch and numpy (the float64 reference of the
# exactness tests); without one, a skip line for NAME and the test ends.
need_torch() {
	py=""
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null && "$p" -c 'import torch, numpy' 2>/dev/null; then py=$p; return; fi
	done
	skip "$1" "no python3 with torch and numpy"
	exit 0
}

