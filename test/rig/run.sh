#!/usr/bin/env bash
# run.sh [go test flags and packages] — run Go tests in the three QEMU rigs.
#
#   bash test/rig/run.sh                       # ./test/rig/rigcheck/ in all guests
#   bash test/rig/run.sh -v ./internal/...     # any go test arguments
#   MINICOMP_RIG_ARCHES="arm" bash test/rig/run.sh ./internal/drm/
#
# Builds vmexec into the cache, builds (or reuses) the kernels, then for each
# GOARCH runs: CGO_ENABLED=0 GOARCH=$a go test -count=1 -exec $VMEXEC "$@".
# Test binaries that import render/gles are dynamically linked (purego):
# vmexec packs their loader and libc (test/rig/README.md).
set -euo pipefail

RIG=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$RIG/../.." && pwd)
CACHE=${MINICOMP_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minicomp-rig}
ARCHES=${MINICOMP_RIG_ARCHES:-amd64 arm64 arm}
[ $# -gt 0 ] || set -- ./test/rig/rigcheck/
cd "$ROOT"

mkdir -p "$CACHE/bin"
VMEXEC=$CACHE/bin/vmexec
env -u GOARCH -u GOOS -u GOARM CGO_ENABLED=0 go build -o "$VMEXEC" ./test/rig/cmd/vmexec
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
	if CGO_ENABLED=0 GOARCH=$a go test -count=1 -exec "$VMEXEC" "$@"; then
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
