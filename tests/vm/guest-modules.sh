# Sourced by the guest scripts (tests/vm/guest.sh, demo.sh, bench/guest.sh) inside the test VM:
# installs this checkout's modules where modprobe finds them, clears the kernel log, and
# mutes the site-packages .pth hooks.
# /lib is a throw-away overlay in the guest: install as `make modules_install` would.
# The runner ran depmod on the host into $OUT/modroot (it takes minutes under TCG).
KVER=$(uname -r)
mkdir -p "/lib/modules/$KVER/extra"
cp "$OUT"/modroot/lib/modules/"$KVER"/extra/*.ko "/lib/modules/$KVER/extra/"
cp "$OUT"/modroot/lib/modules/"$KVER"/modules.* "/lib/modules/$KVER/"
# A kernel built in a tree (make debug-kernel): the runner links its modules.
[ -e "/lib/modules/$KVER/kernel" ] || cp -P "$OUT/modroot/lib/modules/$KVER/kernel" "/lib/modules/$KVER/"
dmesg --clear 2>/dev/null || true
# Python imports this checkout from $PYTHONPATH: the site-packages .pth hooks (the
# editable install's finder, the host's certifi patch) only slow every start down
# (3 s under TCG), so the guest sees them empty.
: >/run/empty.pth
for pth in "$(dirname "$PY")"/../lib/python3*/site-packages/*.pth; do
	[ -e "$pth" ] && mount --bind /run/empty.pth "$pth"
done
