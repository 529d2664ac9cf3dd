#!/usr/bin/env bash
# compositor_cpu.sh — CPU time per output frame and memory of the
# compositor process: minicomp headless next to weston 10 headless with its
# pixman renderer (--use-pixman: it composes, as minicomp does), the same
# clients (1, 4 and 16 weston-simple-shm) on both, 1920×1080, each figure the
# median of RUNS runs; weston's default headless renderer (no-op: it draws
# nothing) is printed once, labelled, for reference only. Then the
# commit-to-present latency weston-presentation-shm sees on both, and
# minicomp's own figure over all its runs.
#
#   bash test/bench/compositor_cpu.sh [seconds per run] [runs]   (default 6 3)
#   MINICOMP_RENDERER=soft bash test/bench/compositor_cpu.sh      (minicomp's --renderer)
#
# weston runs its default desktop shell: its kiosk shell never maps
# simple-shm (it keeps its 250×250 size and waits for a frame). Frames are
# counted from the clients' own frame callbacks (WAYLAND_DEBUG on the client
# side only), CPU time from /proc/PID/task/*/schedstat (every thread), RSS
# from /proc/PID/status at the end of each run.
set -euo pipefail
SECS=${1:-6}
RUNS=${2:-3}
RENDERER=${MINICOMP_RENDERER:-auto}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
chmod 700 "$TMP"
export XDG_RUNTIME_DIR=$TMP
unset WAYLAND_DISPLAY DISPLAY
CGO_ENABLED=0 go build -C "$ROOT" -o "$TMP/minicomp" ./cmd/minicomp

# CPU time of every thread of a process in ns (from the scheduler: the
# utime/stime of /proc/PID/stat count 10 ms ticks, a tenth of a run's
# total with one client).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
rss_mb() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# once NAME PID SOCKET CLIENTS: run CLIENTS weston-simple-shm for SECS and
# print "ms-per-output-frame client-fps rss-MB".
once() {
	local name=$1 pid=$2 sock=$3 n=$4 i pids=()
	for i in $(seq "$n"); do
		WAYLAND_DISPLAY=$sock WAYLAND_DEBUG=client weston-simple-shm 2>"$TMP/client-$name-$n-$i.log" &
		pids+=($!)
	done
	sleep 2
	local c0 t0 c1 t1 f0=0 f1=0 rss
	for i in $(seq "$n"); do f0=$((f0 + $(grep -c 'wl_callback@.*\.done' "$TMP/client-$name-$n-$i.log" || true))); done
	c0=$(cpu_ns "$pid"); t0=$(date +%s.%N)
	sleep "$SECS"
	c1=$(cpu_ns "$pid"); t1=$(date +%s.%N)
	rss=$(rss_mb "$pid")
	for i in $(seq "$n"); do f1=$((f1 + $(grep -c 'wl_callback@.*\.done' "$TMP/client-$name-$n-$i.log" || true))); done
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	if [ "$f1" -le "$f0" ]; then
		echo "$name: the clients drew nothing:" >&2
		tail -3 "$TMP/client-$name-$n-1.log" >&2
		exit 1
	fi
	awk -v k="$n" -v c=$((c1 - c0)) -v f=$((f1 - f0)) -v t0="$t0" -v t1="$t1" -v rss="$rss" 'BEGIN {
		cpu = c / 1e6; secs = t1 - t0; frames = f / k
		printf "%.3f %.1f %s\n", cpu / frames, frames / secs, rss
	}'
}

# row NAME PID SOCKET CLIENTS: RUNS runs of once, print the medians.
row() {
	local name=$1 r
	for r in $(seq "$RUNS"); do once "$@"; done >"$TMP/runs"
	sort -n -k1 "$TMP/runs" | awk -v n="$name" -v k="$4" -v runs="$RUNS" '
		{ ms[NR] = $1; fps[NR] = $2; rss[NR] = $3; all = all (NR > 1 ? " " : "") $1 }
		END {
			m = int((NR + 1) / 2)
			printf "%-32s %2d   %8.3f   %7.1f   %7s   (runs: %s)\n", n, k, ms[m], fps[m], rss[m], all
		}'
}

start() { # start NAME SOCKET CMD...: start a compositor; its pid in PID
	local name=$1 sock=$2
	shift 2
	"$@" >"$TMP/$name.log" 2>&1 &
	PID=$!
	PIDS+=("$PID")
	for _ in $(seq 100); do [ -S "$TMP/$sock" ] && break; sleep 0.1; done
	sleep 1
	kill -0 "$PID" 2>/dev/null || { echo "$name did not start:" >&2; cat "$TMP/$name.log" >&2; exit 1; }
}

stop() { # stop PID [SIGNAL]: end a compositor and wait until it is gone
	kill "-${2:-TERM}" "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

start minicomp wayland-0 "$TMP/minicomp" run --backend headless --size 1920x1080 --renderer "$RENDERER" --log-level info
MPID=$PID
start weston-pixman wayland-pixman weston --backend=headless-backend.so --use-pixman --width=1920 --height=1080 --socket=wayland-pixman --idle-time=0
WPID=$PID
mrend=$(grep -o 'msg=renderer renderer=[a-z]*' "$TMP/minicomp.log" | head -1 | cut -d= -f3)

echo "1920x1080, weston-simple-shm clients, $SECS s a run, median of $RUNS runs; CPU is every thread of the compositor process"
printf "%-32s %s   %s   %s   %s\n" compositor clients "ms/frame" "fps/client" "RSS MB"
for n in 1 4 16; do
	row "minicomp ($mrend)" "$MPID" wayland-0 "$n"
	row "weston 10 (pixman)" "$WPID" wayland-pixman "$n"
done

# latency NAME SOCKET [DELAY]: weston-presentation-shm for SECS (drawing
# DELAY ms a frame), its own commit-to-present times: median, p99, and
# the frames that came more than 1.5 refreshes after the one before.
latency() {
	local name=$1 sock=$2 delay=${3:-0}
	WAYLAND_DISPLAY=$sock timeout -s INT "$SECS" weston-presentation-shm -d "$delay" >"$TMP/pres-$name.log" 2>&1 || true
	local late
	late=$(grep -oE 'p2p +[0-9]+ us' "$TMP/pres-$name.log" | awk '$2 > 25000 { n++ } END { print n + 0 }')
	grep -oE 'c2p +[0-9]+ ms' "$TMP/pres-$name.log" | awk '{ print $2 }' | sort -n |
		awk -v n="$name" -v d="$delay" -v late="$late" '
		{ c[++k] = $1 }
		END {
			if (k < 10) { printf "%s: weston-presentation-shm presented %d frames\n", n, k; exit 1 }
			printf "%-32s draw %d ms   c2p median %2d ms   p99 %2d ms   %d of %d frames late\n", n, d, c[int(k / 2) + 1], c[int(k * 0.99)], late, k
		}'
}
echo
echo "commit to present, weston-presentation-shm, $SECS s each (60 Hz: a refresh is 16.7 ms)"
for d in 0 3; do
	latency "minicomp ($mrend)" wayland-0 "$d"
	latency "weston 10 (pixman)" wayland-pixman "$d"
done
stop "$WPID"

# For reference only: weston's headless default renders nothing.
start weston-noop wayland-noop weston --backend=headless-backend.so --width=1920 --height=1080 --socket=wayland-noop --idle-time=0
row "weston 10 (no-op: draws nothing)" "$PID" wayland-noop 1
stop "$PID"

# Commit-to-present latency over all the minicomp runs above (from its exit
# summary: a commit with new content → the frame on the virtual screen).
stop "$MPID" INT
grep -o 'commit_to_present_mean=[^ ]* commit_to_present_p50=[^ ]* commit_to_present_p99=[^ ]* commit_to_present_max=[^ ]* latency_samples=[0-9]*' "$TMP/minicomp.log" |
	sed 's/^/minicomp commit-to-present: /'
