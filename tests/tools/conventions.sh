# Every tool: --help, --version, a man page, exit 2 on bad usage, the message format.
. "$(dirname "$0")/lib.sh"

for tool in "$RAD_BIN"/rad-*; do
	[ -x "$tool" ] && [ "${tool%.c}" = "$tool" ] || continue
	name=$(basename "$tool")
	help=$("$tool" --help 2>&1); rc=$?
	same "$name --help exits 0" "$rc" "0"
	case $help in *Usage:*"$name"*) echo "ok $name --help shows usage";;
		*) echo "FAIL $name --help shows usage: ${help:0:100}";; esac
	same "$name --version" "$("$tool" --version)" "$name (rad) 0.1.0"
	status_is 2 "$name rejects an unknown option" "$tool" --no-such-option
	case $(last_stderr) in "$name: "*) echo "ok $name messages start with its name";;
		*) echo "FAIL $name messages start with its name: $(last_stderr | head -1)";; esac
	if [ -f "$TOP/man/man1/$name.1" ]; then
		if man -l "$TOP/man/man1/$name.1" >/dev/null 2>&1 || ! command -v man >/dev/null; then echo "ok $name has a man page"
		else echo "FAIL $name has a man page: man/man1/$name.1 does not render"; fi
	else
		echo "FAIL $name has a man page: man/man1/$name.1 is missing"
	fi
done
