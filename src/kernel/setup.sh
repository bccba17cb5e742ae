#!/usr/bin/env bash
# Installs what pktpath's real-kernel mode (namespaces backend) runs: the tools a
# scenario types, plus unshare/mount and ping. Debian packages only; run as root.
# Usage: npm run kernel:setup   (or: bash src/kernel/setup.sh)
set -euo pipefail

PACKAGES=(iproute2 iptables ipset conntrack iputils-ping procps kmod util-linux mount)

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
echo "kernel:setup: namespaces backend ready (the VM backend for IPVS and dummy links is not built yet)"
