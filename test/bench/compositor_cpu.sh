#!/usr/bin/env bash
# compositor_cpu.sh — CPU time per frame of the compositor process, minicomp
# headless vs weston headless (pixman renderer, kiosk shell), same client
# (weston-simple-shm), same output size, measured in one run (weston with its
# default desktop shell: its kiosk shell never maps simple-shm, which keeps
# its 250×250 size and waits for a frame); then minicomp
# with 1, 4 and 16 clients, and minicomp's commit-to-present latency.
#
#   bash test/bench/compositor_cpu.sh [seconds]     (default 10)
#
# Frames are counted from the clients' own frame callbacks (WAYLAND_DEBUG on
# the client side only), CPU time from /proc/PID/stat (utime+stime).
set -euo pipefail
SECS=${1:-10}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$TMP"' EXIT
chmod 700 "$TMP"
export XDG_RUNTIME_DIR=$TMP
CGO_ENABLED=0 go build -C "$ROOT" -o "$TMP/minicomp" ./cmd/minicomp
HZ=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME PID SOCKET CLIENTS: run CLIENTS weston-simple-shm, print a row.
measure() {
	local name=$1 pid=$2 sock=$3 n=$4 i pids=()
	for i in $(seq "$n"); do
		WAYLAND_DISPLAY=$sock WAYLAND_DEBUG=client weston-simple-shm 2>"$TMP/client-$name-$n-$i.log" &
		pids+=($!)
	done
	sleep 2
	local c0 t0 c1 t1 f0=0 f1=0
	for i in $(seq "$n"); do f0=$((f0 + $(grep -c 'wl_callback@.*\.done' "$TMP/client-$name-$n-$i.log" || true))); done
	c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
	sleep "$SECS"
	c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
	for i in $(seq "$n"); do f1=$((f1 + $(grep -c 'wl_callback@.*\.done' "$TMP/client-$name-$n-$i.log" || true))); done
	kill "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	if [ "$f1" -eq 0 ]; then echo "$name: the client drew nothing:" >&2; tail -3 "$TMP/client-$name-$n-1.log" >&2; fi
	awk -v n="$name" -v k="$n" -v c=$((c1 - c0)) -v hz="$HZ" -v f=$((f1 - f0)) -v t0="$t0" -v t1="$t1" 'BEGIN {
		cpu = c / hz * 1000; secs = t1 - t0; frames = f / k
		printf "%-10s clients %2d  client frames/s %6.1f  compositor CPU %7.1f ms/s  %6.3f ms per output frame\n", n, k, frames / secs, cpu / secs, cpu / (frames > 0 ? frames : 1)
	}'
}

"$TMP/minicomp" run --backend headless --size 1920x1080 --log-level info >"$TMP/minicomp.log" 2>&1 &
MPID=$!
weston --backend=headless-backend.so --width=1920 --height=1080 --socket=wayland-weston --idle-time=0 >"$TMP/weston.log" 2>&1 &
WPID=$!
for i in $(seq 50); do [ -S "$TMP/wayland-0" ] && [ -S "$TMP/wayland-weston" ] && break; sleep 0.1; done
sleep 1
for p in "$MPID:minicomp" "$WPID:weston"; do
	kill -0 "${p%%:*}" 2>/dev/null || { echo "${p#*:} did not start:" >&2; cat "$TMP/${p#*:}.log" >&2; exit 1; }
done
echo "1920x1080, $SECS s per run, weston-simple-shm clients; CPU counts every thread of the compositor process"
measure minicomp "$MPID" wayland-0 1
measure weston "$WPID" wayland-weston 1
for n in 4 16; do measure minicomp "$MPID" wayland-0 "$n"; done
# Commit-to-present latency, over all the minicomp runs above (from its
# exit summary: commit with new content → frame on the virtual screen).
kill -INT "$MPID"
wait "$MPID" 2>/dev/null || true
grep -o 'commit_to_present_mean=[^ ]* commit_to_present_p50=[^ ]* commit_to_present_p99=[^ ]* commit_to_present_max=[^ ]* latency_samples=[0-9]*' "$TMP/minicomp.log" |
	sed 's/^/minicomp commit-to-present: /'
