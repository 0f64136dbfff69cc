#!/usr/bin/env bash
# Processes around rad-eval's judge: what a judge leaves running, holds open or writes
# must not hang the caller, keep it waiting for a timeout it does not need, or grow its
# memory.  Each case is bounded in time: a regression fails here instead of hanging.
. "$(dirname "$0")/lib.sh"

for i in 1 2 3 4 5; do
	printf '{"id":"r%d","prompt":"p%d","response":"answer %d"}\n' "$i" "$i" "$i"
done > "$T/in.jsonl"
third=r3

now() { date +%s.%N; }
# took NAME START MAX: passes when less than MAX seconds passed since START
took() {
	local dt
	dt=$(awk -v a="$2" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
	if awk -v d="$dt" -v m="$3" 'BEGIN { exit !(d < m) }'; then echo "ok $1 (${dt} s)"
	else echo "FAIL $1: took $dt s, want less than $3"; _fails=$((_fails + 1)); fi
}
# alive PID: the process exists and is not a zombie (PID 1 of a container may not reap)
alive() { [ -r "/proc/$1/stat" ] && ! awk '{ exit !($3 == "Z") }' "/proc/$1/stat" 2>/dev/null; }
# gone NAME PIDFILE: passes when the process named in PIDFILE has ended (within 2 s)
gone() {
	local pid i
	pid=$(cat "$2" 2>/dev/null) || { echo "FAIL $1: no pid file"; _fails=$((_fails + 1)); return; }
	for i in $(seq 20); do alive "$pid" || { echo "ok $1"; return; }; sleep 0.1; done
	echo "FAIL $1: process $pid still runs"; _fails=$((_fails + 1))
	kill -9 "$pid" 2>/dev/null
}

# ---- a timeout ends the judge's whole process group --------------------------------
# The judge scores two records, leaves a child behind that holds stderr, and hangs.  Before,
# only the shell was killed: the child kept the pipe around rad-eval open for 20 s.
cat > "$T/leaves-child.sh" <<J
#!/bin/sh
sh -c 'echo \$\$ > "$T/child.pid"; exec sleep 20' &
head -n 2 | jq -c --unbuffered '{id, score: 5}'
sleep 20
J
# the same child, deaf to SIGTERM: the group gets SIGKILL after the grace period
cat > "$T/deaf-child.sh" <<J
#!/bin/sh
sh -c 'trap "" TERM; echo \$\$ > "$T/child.pid"; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sleep 1; done' &
head -n 2 | jq -c --unbuffered '{id, score: 5}'
sleep 20
J
chmod +x "$T"/*.sh
for j in leaves-child deaf-child; do
	rm -f "$T/child.pid"
	t0=$(now)
	rc=$( { rad-eval judge --judge "$T/$j.sh" --judge-timeout 1 -o "$T/$j.jsonl" "$T/in.jsonl" 2>&1; echo "rc=$?"; } | cat > "$T/$j.err"; grep -o 'rc=[0-9]*' "$T/$j.err")
	took "judge $j: a pipeline around rad-eval ends after the timeout" "$t0" 12
	same "judge $j: exit 1" "$rc" "rc=1"
	same "judge $j: the timeout names the record" "$(grep -c "record $third: judge sent no score for 1 seconds" "$T/$j.err")" "1"
	same "judge $j: the scores received are kept" "$(jq -r .score "$T/$j.jsonl" | tr '\n' ' ')" "5 5 "
	gone "judge $j: the judge's child is ended" "$T/child.pid"
done

# ---- a judge that is done, but whose child keeps its output open --------------------
# Every record scored, the judge exited 0: success at once, not a timeout 300 s later.
cat > "$T/bg-stdout.sh" <<J
#!/bin/sh
sh -c 'echo \$\$ > "$T/child.pid"; exec sleep 20' &
jq -c --unbuffered '{id, score: 7}'
J
chmod +x "$T/bg-stdout.sh"
rm -f "$T/child.pid"
t0=$(now)
status_is 0 "judge done, child holds its output: success" rad-eval judge --judge "$T/bg-stdout.sh" --judge-timeout 20 -o "$T/bg.jsonl" "$T/in.jsonl"
took "judge done, child holds its output: promptly" "$t0" 8
same "judge done, child holds its output: every record scored" "$(jq -r .score "$T/bg.jsonl" | tr '\n' ' ')" "7 7 7 7 7 "
gone "judge done, child holds its output: the child is ended" "$T/child.pid"
# the same judge stopping after two records: a failure, also at once, naming the next one
cat > "$T/bg-early.sh" <<'J'
#!/bin/sh
sleep 20 &
head -n 2 | jq -c --unbuffered '{id, score: 7}'
exit 0
J
chmod +x "$T/bg-early.sh"
t0=$(now)
status_is 1 "judge exits early, child holds its output: failure" rad-eval judge --judge "$T/bg-early.sh" --judge-timeout 20 "$T/in.jsonl"
took "judge exits early, child holds its output: promptly" "$t0" 8
same "judge exits early: names the record" "$(last_stderr | grep -c "record $third: judge exited with status 0 before scoring it")" "1"

# ---- output without newlines ------------------------------------------------------------
# An endless line: stopped at the cap, with bounded memory, naming the record.
t0=$(now)
status_is 1 "judge writes no newline: failure" rad-eval judge --judge 'head -c 50000000 /dev/zero; sleep 20' --judge-timeout 10 "$T/in.jsonl"
took "judge writes no newline: stopped at the cap, not at the timeout" "$t0" 8
same "judge writes no newline: says so" "$(last_stderr | grep -c 'record r1: judge output line 1 is longer than .* bytes')" "1"
# A line that trickles in and never ends: the timeout covers partial lines.
t0=$(now)
status_is 1 "judge trickles a line: failure" rad-eval judge --judge 'for i in $(seq 100); do printf x; sleep 0.2; done' --judge-timeout 1 "$T/in.jsonl"
took "judge trickles a line: the timeout fires" "$t0" 6
same "judge trickles a line: names the record" "$(last_stderr | grep -c 'record r1: judge sent no score for 1 seconds')" "1"
# A slow but complete answer still counts: lines that end in time are fine.
status_is 0 "judge that answers slowly, line by line" rad-eval judge --judge-timeout 2 \
	--judge 'while read -r l; do sleep 0.3; printf "%s" "$l" | jq -c "{id, score: 1}"; done' "$T/in.jsonl"

# ---- rad-eval itself stopped: the judge's group goes with it ----------------------------
cat > "$T/waits.sh" <<J
#!/bin/sh
echo \$\$ > "$T/judge.pid"
sh -c 'echo \$\$ > "$T/child.pid"; exec sleep 20' &
cat > /dev/null
sleep 20
J
chmod +x "$T/waits.sh"
rm -f "$T/judge.pid" "$T/child.pid"
rad-eval judge --judge "$T/waits.sh" --judge-timeout 60 "$T/in.jsonl" > /dev/null 2>&1 &
ev=$!
for i in $(seq 50); do [ -s "$T/child.pid" ] && break; sleep 0.1; done
kill -TERM "$ev"
wait "$ev"
same "rad-eval on SIGTERM: dies of it" "$?" "$((128 + 15))"
gone "rad-eval on SIGTERM: the judge is ended" "$T/judge.pid"
gone "rad-eval on SIGTERM: the judge's child is ended" "$T/child.pid"

# ---- a judge that stops (as one reading the terminal does, with SIGTTIN) ------------------
t0=$(now)
status_is 1 "judge stopped: failure" rad-eval judge --judge 'head -n 1 > /dev/null; kill -STOP $$; cat > /dev/null' --judge-timeout 20 "$T/in.jsonl"
took "judge stopped: at once, not at the timeout" "$t0" 8
same "judge stopped: says so" "$(last_stderr | grep -c 'judge was stopped by signal 19')" "1"

# ---- rad-eval failing on its own input: the judge's group still goes ----------------------
# Two records of 40 KB fill the pipe, so rad-eval reaches the bad third line only once the
# judge reads, after it has started its child.
cat > "$T/keeps-child.sh" <<J
#!/bin/sh
sleep 20 &
echo \$! > "$T/child.pid"
jq -c --unbuffered '{id, score: 1}'
J
chmod +x "$T/keeps-child.sh"
awk 'BEGIN { for (i = 1; i <= 2; i++) { printf "{\"id\":\"big%d\",\"prompt\":\"p\",\"response\":\"", i
	for (k = 0; k < 40000; k++) printf "x"; print "\"}" }; print "[1, 2]" }' > "$T/bad.jsonl"
rm -f "$T/child.pid"
t0=$(now)
status_is 1 "bad input record with a judge running: failure" rad-eval judge --judge "$T/keeps-child.sh" "$T/bad.jsonl"
same "bad input record: names the line" "$(last_stderr | grep -c 'bad.jsonl:3: not an object')" "1"
took "bad input record: rad-eval ends at once" "$t0" 8
gone "bad input record: the judge's child is ended" "$T/child.pid"
