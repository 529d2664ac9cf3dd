#!/usr/bin/env bash
# pixman_vs_c.sh — render/pixman (libpixman through purego) against the same
# frames drawn by libpixman called from C, in one run: the scene of
# render/internal/scenes' BenchmarkCompose1080p (1920×1080 XRGB target,
# 800×600 surfaces, even ones opaque XRGB drawn SRC, odd ones translucent
# ARGB drawn OVER; 1, 4 and 16 surfaces; the whole frame or the 256×256 block
# surface 0 just updated). Three programs, each run of each surface count
# (both cases) in turn, RUNS times (the order flips every run), each figure
# the median:
#
#   C          test/bench/pixman_c/compose.c (gcc), the raw scene, call for call
#              what the Go benchmark does
#   Go         BenchmarkCompose1080p/pixman: the renderer drawing the raw scene
#   occluded   internal/server's BenchmarkComposeOccluded1080p: the server's
#              compose, which draws only what no opaque surface hides
#
# Go/C and occluded/C are the medians of each run's ratios (a run's three
# figures are measured within seconds of each other). Every case's picture is hashed
# (FNV-1a of the target) by all three: a hash that differs from C's fails the
# script, so the three draw the same frames.
#
#   bash test/bench/pixman_vs_c.sh [runs] [seconds per case]   (default 5 0.3)
#   bash test/bench/pixman_vs_c.sh --smoke   (test/all.sh: build, run each
#       case a few frames, check the output and the hashes; no timing)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SMOKE=0
if [ "${1:-}" = --smoke ]; then
	SMOKE=1
	RUNS=1
	CTIME=0
	GOTIME=2x
else
	RUNS=${1:-5}
	SECS=${2:-0.3}
	CTIME=$SECS
	GOTIME=${SECS}s
fi
if ! [[ $RUNS =~ ^[1-9][0-9]*$ && $CTIME =~ ^[0-9]*\.?[0-9]+$ ]]; then
	echo "usage: bash test/bench/pixman_vs_c.sh [runs ≥ 1] [seconds per case] | --smoke" >&2
	exit 2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export MINICOMP_REQUIRE_PIXMAN=1 # a missing libpixman fails the Go side rather than skipping it

# -fno-builtin: the upload's row copies call glibc's memcpy, as Go's copy
# calls runtime.memmove (inlined, gcc makes them rep movsq: 20% slower here).
gcc -O2 -fno-builtin -std=c11 -Wall -Wextra -Werror -o "$TMP/compose" "$ROOT/test/bench/pixman_c/compose.c" -l:libpixman-1.so.0
(cd "$ROOT" && go test -c -o "$TMP/scenes.test" ./render/internal/scenes/ && go test -c -o "$TMP/server.test" ./internal/server/)

# Each runner, given a surface count N, appends "IMPL CASE NS CPU-NS FNV
# RUN" lines (CASE: surfaces=N/full and surfaces=N/damage; wall and CPU time
# a frame) to $TMP/results and checks that its output has both cases.
check() { # IMPL FILE N: both cases once, with times and a hash
	local c n
	for c in "surfaces=$3/full" "surfaces=$3/damage"; do
		n=$(awk -v i="$1" -v c="$c" '$1 == i && $2 == c && $3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/ && $5 ~ /^[0-9a-f]+$/ && length($5) == 16' "$2" | wc -l)
		if [ "$n" != 1 ]; then
			echo "pixman_vs_c: $1 printed no valid line for $c:" >&2
			cat "$TMP/raw" >&2
			exit 1
		fi
	done
	awk -v r="$RUN" -v n="$3" '$2 ~ "^surfaces=" n "/" {print $0, r}' "$2" >>"$TMP/results"
}
run_c() { # N: the harness runs the other counts' cases for two frames only
	"$TMP/compose" -t "$CTIME" -case "surfaces=$1/" >"$TMP/raw"
	grep -qE '^pixman [0-9]+\.[0-9]+\.[0-9]+$' "$TMP/raw" || { echo "pixman_vs_c: the C harness printed no version:" >&2; cat "$TMP/raw" >&2; exit 1; }
	VERSION=$(awk '$1 == "pixman" {print $2}' "$TMP/raw")
	awk '$1 ~ /^surfaces=[0-9]+\/(full|damage)$/ && $4 == "ns/frame" && $6 == "cpu-ns/frame" && $7 == "fnv" {print "c", $1, $3, $5, $8}' "$TMP/raw" >"$TMP/one"
	check c "$TMP/one" "$1"
}
# go_bench IMPL BINARY PATTERN N: a go test binary's benchmark lines
# (ns/frame and cpu-ns/frame) and the "fnv HASH" each logs.
go_bench() {
	"$2" -test.run '^$' -test.bench "$3" -test.benchtime "$GOTIME" -test.benchmem >"$TMP/raw" 2>&1 || { cat "$TMP/raw" >&2; exit 1; }
	awk -v impl="$1" '
		/^Benchmark/ {
			k = $1; sub(/-[0-9]+$/, "", k); n = split(k, parts, "/"); key = parts[n-1] "/" parts[n]
			ns = ""; cpu = ""
			for (i = 2; i < NF; i++) {
				if ($(i+1) == "ns/frame") ns = sprintf("%.0f", $i)
				if ($(i+1) == "cpu-ns/frame") cpu = sprintf("%.0f", $i)
			}
		}
		/: fnv [0-9a-f]+$/ && key != "" { print impl, key, ns, cpu, $NF; key = "" }
	' "$TMP/raw" >"$TMP/one"
	check "$1" "$TMP/one" "$4"
}
run_go() { go_bench go "$TMP/scenes.test" "^BenchmarkCompose1080p\$/^pixman\$/^surfaces=$1\$/" "$1"; }
run_occ() { go_bench occ "$TMP/server.test" "^BenchmarkComposeOccluded1080p\$/^surfaces=$1\$/" "$1"; }

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$TMP/results"
for RUN in $(seq "$RUNS"); do
	for n in 1 4 16; do
		if [ $((RUN % 2)) = 1 ]; then
			run_c $n; run_go $n; run_occ $n
		else
			run_occ $n; run_go $n; run_c $n
		fi
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# The pictures: every case's hash, in every run, equal to C's.
bad=$(awk '$1 == "c" {c[$2 " " $6] = $5} $1 != "c" {o[$1 " " $2 " " $6] = $5} END {
	for (k in o) { split(k, p, " "); if (o[k] != c[p[2] " " p[3]]) print p[1], p[2], "run", p[3], o[k], "C:", c[p[2] " " p[3]] } }' "$TMP/results")
if [ -n "$bad" ]; then
	echo "pixman_vs_c: pictures differ from the C harness's (impl case hash):" >&2
	echo "$bad" >&2
	exit 1
fi

echo "pixman $VERSION: C (gcc, test/bench/pixman_c/compose.c) vs render/pixman (Go, purego) vs internal/server's occluding compose;"
echo "$RUNS run(s) interleaved, $( [ $SMOKE = 1 ] && echo "a few frames a case (smoke: figures mean nothing)" || echo "~$SECS s a case" ); ms per frame, median (min–max); load average $LOAD0 before, $LOAD1 after"
# table COLUMN TITLE: the figures of column 3 (wall) or 4 (CPU) of the results.
table() {
	echo
	echo "$2"
	awk -v col="$1" '
		{ ns[$1, $2, $6] = $col; runs[$6] = 1 }
		function med(a, n,   i, j, t) { # sorts a[1..n], returns the median
			for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
			return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
		}
		function cell(impl, c,   r, n, a, m) { n = 0; for (r in runs) a[++n] = ns[impl, c, r] / 1e6
			m = med(a, n); return sprintf("%7.3f (%.3f–%.3f)", m, a[1], a[n]) }
		function ratio(impl, c,   r, n, a) { n = 0; for (r in runs) a[++n] = ns[impl, c, r] / ns["c", c, r]; return sprintf("%5.2f", med(a, n)) }
		END {
			printf "%-18s %-26s %-26s %6s   %-26s %6s\n", "case", "C pixman", "Go render/pixman", "Go/C", "Go occluded (server)", "occ/C"
			split("1 4 16", counts); split("full damage", modes)
			for (i = 1; i <= 3; i++) for (j = 1; j <= 2; j++) {
				c = "surfaces=" counts[i] "/" modes[j]
				printf "%-18s %-26s %-26s %6s   %-26s %6s\n", c, cell("c", c), cell("go", c), ratio("go", c), cell("occ", c), ratio("occ", c)
			}
		}' "$TMP/results"
}
table 3 "wall clock (ms per frame; Go/C and occ/C: median of each run's ratio)"
table 4 "CPU time of the process (ms per frame; moves less with the machine's load)"
echo
echo "pictures: every case hashed alike by all three ($(awk '$1 == "c"' "$TMP/results" | wc -l) C cases checked)"
