#!/usr/bin/env bash
# deps.sh — install the Debian packages the kernel rig needs (idempotent).
# Runs apt only when something is missing; apt-get update only then.
set -euo pipefail

pkgs=(
	qemu-system-x86 qemu-system-arm            # guests (qemu-system-arm also has aarch64)
	linux-source-6.1                           # /usr/src/linux-source-6.1.tar.xz
	make gcc libc6-dev flex bison bc libelf-dev libssl-dev xz-utils # kernel build
	device-tree-compiler                       # vexpress-a9 DT fix
	weston wayland-utils grim                  # real Wayland clients for internal/server's tests
	wayvnc wtype wl-clipboard                  # remote access and clipboard tests (virtual input, data control)
	wvkbd swaybg slurp wlr-randr swayidle      # layer-shell, output management and idle tests
	libegl-mesa0 libgl1-mesa-dri               # weston-simple-egl on llvmpipe
	libegl1 libgles2                           # render/gles tests (EGL surfaceless + GLES on llvmpipe, via purego)
	libpixman-1-0                              # render/pixman (loaded at run time through purego)
	libxkbcommon0 xkb-data                     # internal/xkb (keymaps through libxkbcommon, loaded at run time)
	libinput10 libinput-bin                    # internal/libinput (loaded at run time) and its device quirks (/usr/share/libinput)
	wev                                        # prints a client's input events: internal/server's seated input test
	udev                                       # systemd-udevd, its rules and hwdb in the amd64 guest: libinput's udev hotplug test
	libgbm1                                    # Mesa in the amd64 guest (testdata/rig-mesa): packed by vmexec
	qemu-system-gui                            # -display gtk,gl=on: virtio-gpu-gl-pci (virgl) on an Xvfb
	glmark2-es2-wayland glmark2-data           # GPU client for cmd/minicomp's rig tests (virgl), and its data
	patch                                      # patches/*.patch
	xvfb                                       # a real X server for backend/x11's tests
	adwaita-icon-theme                         # an Xcursor theme (left_ptr) for internal/xcursor's test
	seatd libseat1                             # internal/seat: a real seatd (host and amd64 guest), libseat loaded at run time
	x11-apps x11-utils                         # xwd, xwininfo: vmexec's screen check (QEMU's window is virtio-gpu's scanout)
)
case "$(uname -m)" in
x86_64)  pkgs+=(gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf) ;;
aarch64) pkgs+=(gcc-x86-64-linux-gnu gcc-arm-linux-gnueabihf) ;;
*)       pkgs+=(gcc-x86-64-linux-gnu gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps.sh: all ${#pkgs[@]} packages present" >&2
	exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
