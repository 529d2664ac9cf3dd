#!/usr/bin/env bash
# run.sh [go test flags and packages] — run Go tests in the three QEMU rigs.
#
#   bash test/rig/run.sh                       # ./test/rig/rigcheck/ in all guests
#   bash test/rig/run.sh -v ./internal/...     # any go test arguments
#   MINICOMP_RIG_ARCHES="arm" bash test/rig/run.sh ./internal/drm/
#
# Builds vmexec into the cache, builds (or reuses) the kernels, then for each
# GOARCH runs: CGO_ENABLED=0 GOARCH=$a go test -count=1 -exec $VMEXEC "$@"
# (amd64: CGO_ENABLED=1 and -race, see RACE below).
# Test binaries that import render/gles are dynamically linked (purego):
# vmexec packs their loader and libc (test/rig/README.md).
set -euo pipefail

RIG=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$RIG/../.." && pwd)
CACHE=${MINICOMP_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minicomp-rig}
ARCHES=${MINICOMP_RIG_ARCHES:-amd64 arm64 arm}
# GOARCHes whose guest runs the tests with the race detector (default
# amd64: -race needs cgo for its runtime, so the test binary is dynamically
# linked and vmexec packs its loader and libc; the guest runs the host's
# architecture). MINICOMP_RIG_RACE= turns it off.
RACE=${MINICOMP_RIG_RACE-amd64}
[ $# -gt 0 ] || set -- ./test/rig/rigcheck/
cd "$ROOT"

mkdir -p "$CACHE/bin"
# One vmexec per checkout (runs from several worktrees at once must not use
# each other's build); bin/vmexec points at the newest, for running by hand.
VMEXEC=$CACHE/bin/vmexec.$(printf %s "$ROOT" | sha256sum | cut -c1-12)
env -u GOARCH -u GOOS -u GOARM CGO_ENABLED=0 go build -o "$VMEXEC" ./test/rig/cmd/vmexec
ln -sfn "$(basename "$VMEXEC")" "$CACHE/bin/vmexec"
export MINICOMP_RIG_DIR=$RIG

karch() { case $1 in amd64) echo x86_64 ;; arm64) echo arm64 ;; arm) echo arm ;; *) echo "unknown GOARCH $1" >&2; return 1 ;; esac; }

# Build kernels up front, one at a time (each uses make -j$(nproc)); go test
# would otherwise kill a long build (-timeout) and run them in parallel.
for a in $ARCHES; do
	k=$(karch "$a")
	t=$SECONDS
	bash "$RIG/kernel.sh" "$k" >/dev/null
	echo "run.sh: kernel $k ready ($((SECONDS - t))s)" >&2
done

fail=()
for a in $ARCHES; do
	echo "run.sh: === GOARCH=$a ===" >&2
	t=$SECONDS
	race=()
	cgo=0
	case " $RACE " in *" $a "*) race=(-race) cgo=1 ;; esac
	if CGO_ENABLED=$cgo GOARCH=$a go test -count=1 "${race[@]}" -exec "$VMEXEC" "$@"; then
		echo "run.sh: GOARCH=$a passed ($((SECONDS - t))s)" >&2
	else
		echo "run.sh: GOARCH=$a FAILED ($((SECONDS - t))s)" >&2
		fail+=("$a")
	fi
done
if [ ${#fail[@]} -gt 0 ]; then
	echo "run.sh: failed: ${fail[*]}" >&2
	exit 1
fi
echo "run.sh: all passed ($ARCHES)" >&2
