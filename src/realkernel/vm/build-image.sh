#!/usr/bin/env bash
# Builds the VM backend's image into a git-ignored cache folder (default .cache/vm/):
# Debian's kernel (linux-image-amd64's current dependency, unpacked with dpkg -x, with
# modules.dep made by depmod), and an initramfs holding busybox, the modules of
# modules.txt with their dependencies, the userland tools with their shared libraries,
# node, and /init. The per-run parts (the guest agent, the plans) are not in it: each
# run appends them as a second cpio archive, so the image never goes stale with code.
# Usage (as root, after the packages of setup.sh): bash src/realkernel/vm/build-image.sh [CACHE]
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
CACHE="${1:-${PKTPATH_VM_CACHE:-$REPO/.cache/vm}}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"

say() { echo "kernel:setup: vm: $*"; }

KPKG="$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')"
if [ -z "$KPKG" ]; then
  say "apt-cache names no linux-image-*-amd64 behind linux-image-amd64 (run apt-get update?)" >&2
  exit 1
fi
KVER="${KPKG#linux-image-}"
KDIR="$CACHE/kernel/$KVER"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/pktpath-vm-build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

if [ ! -f "$KDIR/boot/vmlinuz-$KVER" ] || [ ! -d "$KDIR/lib/modules/$KVER" ]; then
  say "apt-get download $KPKG"
  (cd "$WORK" && apt-get download "$KPKG" >/dev/null 2>&1 || apt-get download "$KPKG")
  rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
  dpkg -x "$WORK"/"$KPKG"_*.deb "$KDIR.tmp"
  rm -rf "$KDIR" && mv "$KDIR.tmp" "$KDIR"
  rm -f "$WORK"/*.deb
fi
say "depmod $KVER"
depmod -b "$KDIR" "$KVER"

ROOT="$WORK/root"
mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,proc,sys,dev,run,tmp,pktpath}
ln -s usr/bin "$ROOT/bin"
ln -s usr/sbin "$ROOT/sbin"
ln -s usr/lib "$ROOT/lib"
ln -s usr/lib64 "$ROOT/lib64"

# A file at its real path in the image (directories resolved: /lib -> /usr/lib).
put() {
  local src="$1" dir
  dir="$(readlink -f "$(dirname "$src")")"
  mkdir -p "$ROOT$dir"
  [ -e "$ROOT$dir/$(basename "$src")" ] || cp -L "$src" "$ROOT$dir/$(basename "$src")"
}
put_libs() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ )]*' || true); do put "$lib"; done
}
put_bin() {
  local b real
  for b in "$@"; do
    real="$(readlink -f "$b")"
    [ -x "$real" ] || { say "missing $b" >&2; exit 1; }
    put "$real"
    put_libs "$real"
  done
}

say "tools and their libraries"
TOOLS=(/usr/bin/ip /usr/sbin/bridge /usr/sbin/sysctl /usr/sbin/xtables-nft-multi /usr/sbin/xtables-legacy-multi
  /usr/sbin/ipset /usr/sbin/conntrack /usr/sbin/ipvsadm /usr/bin/unshare /usr/bin/mount /usr/bin/umount
  /usr/bin/ping /usr/bin/kmod /usr/bin/setpriv /usr/bin/node /usr/sbin/nft)
put_bin "${TOOLS[@]}"
cp /usr/bin/busybox "$ROOT/usr/bin/busybox"
ln -s busybox "$ROOT/usr/bin/sh"
for t in modprobe insmod rmmod lsmod depmod modinfo; do ln -sf ../bin/kmod "$ROOT/usr/sbin/$t"; done
# iptables: the same backend as this machine's alternatives choose, both reachable by name.
default="$(basename "$(readlink -f /usr/sbin/iptables)")"
for fam in iptables ip6tables; do
  for suffix in "" -save -restore; do
    ln -sf "$default" "$ROOT/usr/sbin/$fam$suffix"
    ln -sf xtables-nft-multi "$ROOT/usr/sbin/$fam-nft$suffix"
    ln -sf xtables-legacy-multi "$ROOT/usr/sbin/$fam-legacy$suffix"
  done
done
if [ -d /usr/lib/x86_64-linux-gnu/xtables ]; then
  mkdir -p "$ROOT/usr/lib/x86_64-linux-gnu/xtables"
  for so in /usr/lib/x86_64-linux-gnu/xtables/*.so; do put "$so"; put_libs "$so"; done
fi
for f in /etc/protocols /etc/services /etc/ethertypes /etc/iproute2/rt_tables /etc/iproute2/rt_protos; do
  [ -f "$f" ] && put "$f"
done
printf 'root:x:0:0:root:/:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf 'passwd: files\ngroup: files\nhosts: files\nservices: files\nprotocols: files\n' >"$ROOT/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n' >"$ROOT/etc/hosts"

say "modules"
MODDIR="$KDIR/lib/modules/$KVER"
mkdir -p "$ROOT/lib/modules/$KVER"
PRELOAD=()
while read -r name when _; do
  case "$name" in ''|'#'*) continue ;; esac
  [ "$when" = preload ] && PRELOAD+=("$name")
  deps="$(modprobe -d "$KDIR" -S "$KVER" --show-depends "$name" 2>/dev/null || true)"
  if [ -z "$deps" ]; then say "module $name: not in $KPKG (skipped)"; continue; fi
  while read -r kind path _; do
    [ "$kind" = insmod ] || continue
    rel="${path#"$KDIR"}"
    mkdir -p "$ROOT$(dirname "$rel")"
    cp "$path" "$ROOT$rel"
  done <<<"$deps"
done <"$HERE/modules.txt"
for f in modules.builtin modules.builtin.modinfo modules.order; do
  [ -f "$MODDIR/$f" ] && cp "$MODDIR/$f" "$ROOT/lib/modules/$KVER/"
done
depmod -b "$ROOT" "$KVER"
printf '%s\n' "${PRELOAD[@]}" >"$ROOT/pktpath/preload.txt"

cat >"$ROOT/init" <<'INIT'
#!/bin/sh
# pktpath VM init: mounts, modules, then the guest agent the run appended; powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C LC_ALL=C HOME=/
bb=/usr/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev 2>/dev/null
$bb mount -t tmpfs -o mode=1777 tmpfs /tmp
$bb mount -t tmpfs -o mode=755 tmpfs /run
$bb mkdir -p /run/netns
$bb stty -F /dev/console -onlcr 2>/dev/null
echo "PKTPATH-VM-BOOTED $($bb cut -d' ' -f1 /proc/uptime)"
failed=""
/usr/sbin/modprobe -a $($bb cat /pktpath/preload.txt) 2>/dev/null || true
for m in $($bb cat /pktpath/preload.txt); do
  [ -d /sys/module/$m ] && continue
  /usr/sbin/modprobe "$m" 2>/dev/null || failed="$failed $m"
done
[ -n "$failed" ] && echo "PKTPATH-VM-MODULES-FAILED$failed"
echo "PKTPATH-VM-MODULES $($bb cut -d' ' -f1 /proc/uptime)"
if [ -f /pktpath/guest.mjs ]; then
  /usr/bin/node /pktpath/guest.mjs
else
  echo "PKTPATH-VM-NO-AGENT"
fi
$bb sync
$bb poweroff -f
INIT
chmod 755 "$ROOT/init"

say "initramfs"
(cd "$ROOT" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 >"$WORK/initrd.img"
cp "$KDIR/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
cp "$KDIR/boot/config-$KVER" "$WORK/config"
printf '{"kernel":"%s","package":"%s","built":"%s","preload":[%s]}\n' "$KVER" "$KPKG" "$(date -u +%FT%TZ)" \
  "$(printf '"%s",' "${PRELOAD[@]}" | sed 's/,$//')" >"$WORK/image.json"
for f in vmlinuz config initrd.img image.json; do mv -f "$WORK/$f" "$CACHE/$f"; done
say "image ready in $CACHE ($(du -h "$CACHE/initrd.img" | cut -f1) initramfs, kernel $KVER)"
