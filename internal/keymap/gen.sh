#!/usr/bin/env bash
# Regenerates us.xkb: the US keymap of xkeyboard-config (evdev keycodes),
# compiled by xkbcomp (Debian x11-xkb-utils) into one self-contained text,
# the form wl_keyboard.keymap hands to clients.
set -euo pipefail
cd "$(dirname "$0")"
xkbcomp -w 0 -xkb - us.xkb <<'XKB'
xkb_keymap {
	xkb_keycodes { include "evdev+aliases(qwerty)" };
	xkb_types { include "complete" };
	xkb_compat { include "complete" };
	xkb_symbols { include "pc+us+inet(evdev)" };
};
XKB
