#!/usr/bin/env bash
# kernel.sh ARCH — build (or reuse) the rig kernel for ARCH = x86_64 | arm64 | arm.
#
# Source:  Debian's /usr/src/linux-source-6.1.tar.xz (override: MINICOMP_RIG_KSRC_TAR)
#          plus patches/*.patch (patch -p1, in name order) for every ARCH.
# Config:  tinyconfig + config/common.config + config/ARCH.config, merged with
#          scripts/kconfig/merge_config.sh, then olddefconfig; every line of the
#          fragments is verified against the final .config.
# Output:  $CACHE/kernel-ARCH-<hash>/ with bzImage | Image | zImage (+ the patched
#          vexpress-a9 DTB for arm) and the .config; its path is the last stdout line.
#          CACHE = ${MINICOMP_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minicomp-rig}
# Build logs go to $CACHE/build-ARCH.log; progress lines go to stderr.
set -euo pipefail

usage() { echo "usage: $0 x86_64|arm64|arm" >&2; exit 2; }
[ $# -eq 1 ] || usage
RARCH=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${MINICOMP_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/minicomp-rig}
TAR=${MINICOMP_RIG_KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
SRCPKG=linux-source-6.1

host=$(uname -m)
cross() { # cross() PREFIX HOSTARCH -> prints the prefix unless building natively
	if [ "$host" = "$2" ]; then echo ""; else echo "$1"; fi
}
DTB=
case "$RARCH" in
x86_64) KARCH=x86_64; CROSS=$(cross x86_64-linux-gnu- x86_64); IMAGE=arch/x86/boot/bzImage ;;
arm64)  KARCH=arm64;  CROSS=$(cross aarch64-linux-gnu- aarch64); IMAGE=arch/arm64/boot/Image ;;
arm)    KARCH=arm;    CROSS=$(cross arm-linux-gnueabihf- armv7l); IMAGE=arch/arm/boot/zImage
	DTB=vexpress-v2p-ca9.dtb ;;
*) usage ;;
esac
FRAGS=("$HERE/config/common.config" "$HERE/config/$RARCH.config")
shopt -s nullglob
PATCHES=("$HERE"/patches/*.patch)
shopt -u nullglob
EXTRA=()
[ -n "$DTB" ] && EXTRA=("$HERE/config/vexpress-a9-fixup.dts")

log() { echo "kernel.sh[$RARCH]: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ -r "$TAR" ] || die "$TAR missing (apt-get install $SRCPKG; or run test/rig/deps.sh)"
srcver=$(dpkg-query -W -f='${Version}' "$SRCPKG" 2>/dev/null || stat -c %s-%Y "$TAR")
ccver=$("${CROSS}gcc" -dumpfullversion 2>/dev/null) || die "${CROSS}gcc not found (run test/rig/deps.sh)"

key=$( {
	echo "arch=$RARCH src=$SRCPKG/$srcver cc=$ccver"
	for f in "$0" "${FRAGS[@]}" "${EXTRA[@]}" "${PATCHES[@]}"; do echo "== $(basename "$f")"; cat "$f"; done
} | sha256sum | cut -c1-16)
patchkey=$(cat /dev/null "${PATCHES[@]}" | sha256sum | cut -c1-16)
OUT=$CACHE/kernel-$RARCH-$key

if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi

mkdir -p "$CACHE"
# One build per ARCH at a time (go test runs several -exec programs in parallel).
exec 9>"$CACHE/.lock-$RARCH"
flock 9
if [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi

SECONDS=0
# Unpacked and patched source tree, shared by all arches (builds are out of
# tree). Its path stays the same when the patches change, so the object trees
# are rebuilt incrementally; .complete records which patches it has.
SRC=$CACHE/${SRCPKG}_$srcver
(
	exec 8>"$CACHE/.lock-src"
	flock 8
	if [ "$(cat "$SRC/.complete" 2>/dev/null)" != "$patchkey" ]; then
		log "unpacking $TAR"
		rm -rf "$SRC" "$SRC.tmp"
		mkdir -p "$SRC.tmp"
		tar -C "$SRC.tmp" -xf "$TAR"
		top=$(ls "$SRC.tmp")
		for p in "${PATCHES[@]}"; do
			log "applying $(basename "$p")"
			patch -d "$SRC.tmp/$top" -p1 --forward --batch --no-backup-if-mismatch <"$p" >&2 ||
				die "patch $p does not apply to $SRCPKG $srcver"
		done
		mv "$SRC.tmp/$top" "$SRC"
		rmdir "$SRC.tmp"
		echo "$patchkey" >"$SRC/.complete"
	fi
)

B=$CACHE/build-$RARCH # out-of-tree object dir, reused between config changes
LOG=$CACHE/build-$RARCH.log
mkdir -p "$B"
: >"$LOG"
M=(make -C "$SRC" O="$B" ARCH="$KARCH" CROSS_COMPILE="$CROSS" -j"$(nproc)")
run() { "$@" >>"$LOG" 2>&1 || { tail -n 40 "$LOG" >&2; die "failed: $* (log: $LOG)"; }; }

log "configuring in $B (log: $LOG)"
rm -f "$B/.config"
run "${M[@]}" tinyconfig
run env ARCH="$KARCH" CROSS_COMPILE="$CROSS" "$SRC/scripts/kconfig/merge_config.sh" \
	-m -O "$B" "$B/.config" "${FRAGS[@]}"
run "${M[@]}" olddefconfig

# Every option a fragment sets must have survived olddefconfig.
verify() {
	local bad=0 line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$B/.config" || {
				log "option lost: want '$line', have '$(grep -E "^(# )?${line%%=*}[= ]" "$B/.config" || echo unset)'"
				bad=1
			} ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			if grep -q "^$sym=" "$B/.config"; then log "option should be unset: $(grep "^$sym=" "$B/.config")"; bad=1; fi ;;
		esac
	done < <(cat "${FRAGS[@]}")
	[ "$bad" = 0 ] || die "config fragments did not survive olddefconfig (missing dependencies?)"
}
verify

targets=("$(basename "$IMAGE")")
[ -n "$DTB" ] && targets+=("$DTB")
log "building ${targets[*]} with make -j$(nproc) (minutes)"
run "${M[@]}" "${targets[@]}"
verify

TMP=$OUT.tmp.$$
rm -rf "$TMP"
mkdir -p "$TMP"
cp "$B/$IMAGE" "$TMP/"
cp "$B/.config" "$TMP/config"
if [ -n "$DTB" ]; then
	# Stock DTB -> dts (no labels; nodes addressed by path), append the fix, compile.
	stock=$(find "$B/arch/arm/boot/dts" -name "$DTB" | head -n1)
	[ -n "$stock" ] || die "$DTB not built"
	dtc -q -I dtb -O dts -o "$TMP/stock.dts" "$stock"
	cat "$TMP/stock.dts" "$HERE/config/vexpress-a9-fixup.dts" >"$TMP/patched.dts"
	dtc -q -I dts -O dtb -o "$TMP/vexpress-v2p-ca9-minicomp.dtb" "$TMP/patched.dts" 2>>"$LOG" ||
		die "dtc failed on the patched DT (see $LOG)"
	rm -f "$TMP/stock.dts"
fi
echo "$RARCH $SRCPKG $srcver $ccver built in ${SECONDS}s" >"$TMP/info"
touch "$TMP/.complete"
rm -rf "$OUT"
mv "$TMP" "$OUT"
log "done in ${SECONDS}s"
echo "$OUT"
