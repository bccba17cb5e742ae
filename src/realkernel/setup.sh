#!/usr/bin/env bash
# Installs what pktpath's real-kernel mode runs: the tools a scenario types, plus
# unshare/mount and ping (namespaces backend), and QEMU, busybox, ipvsadm and Debian's
# kernel for the VM backend, whose image src/realkernel/vm/build-image.sh builds into the
# git-ignored .cache/vm/. Debian packages only; run as root.
# Usage: npm run kernel:setup   (or: bash src/realkernel/setup.sh)
set -euo pipefail

PACKAGES=(iproute2 iptables ipset conntrack nftables iputils-ping procps kmod util-linux mount
  qemu-system-x86 cpio busybox-static ipvsadm)

if [ "$(id -u)" != 0 ]; then
  echo "kernel:setup: must run as root (apt-get install)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "kernel:setup: all present: ${PACKAGES[*]}"
else
  echo "kernel:setup: apt-get update"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  echo "kernel:setup: apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "kernel:setup: installed ${missing[*]}"
fi

for t in unshare mount ip bridge sysctl iptables iptables-save ipset conntrack ping; do
  if ! command -v "$t" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$t" ] && [ ! -x "/sbin/$t" ]; then
    echo "kernel:setup: $t still missing" >&2
    exit 1
  fi
done
echo "kernel:setup: namespaces backend ready"
if [ "${PKTPATH_SETUP_NO_VM:-}" = 1 ]; then
  echo "kernel:setup: PKTPATH_SETUP_NO_VM=1: VM image not built"
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/vm/build-image.sh"
echo "kernel:setup: VM backend ready (IPVS, dummy links, modules this kernel lacks)"
