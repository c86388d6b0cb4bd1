# Sourced by the guest scripts (tests/vm/guest.sh, bench/guest.sh) inside the test VM:
# installs this checkout's modules where modprobe finds them, then clears the kernel log.
# /lib is a throw-away overlay in the guest: install as `make modules_install` would.
# The runner ran depmod on the host into $OUT/modroot (it takes minutes under TCG).
KVER=$(uname -r)
mkdir -p "/lib/modules/$KVER/extra"
cp "$OUT"/modroot/lib/modules/"$KVER"/extra/*.ko "/lib/modules/$KVER/extra/"
cp "$OUT"/modroot/lib/modules/"$KVER"/modules.* "/lib/modules/$KVER/"
dmesg --clear 2>/dev/null || true
