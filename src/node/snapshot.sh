#!/bin/sh
# pktpath snapshot: reads this node's network state into one JSON file for
# `pktpath import`. Run it as root:   sh pktpath-snapshot.sh [OUTPUT.json]
#
# It only reads. For the root namespace and every network namespace it can see
# (ip netns list, and the namespaces of running processes under /proc/*/ns/net) it runs:
@@READS@@
# Reading must not load a kernel module (ipvsadm, ipset, nft and conntrack would make the
# kernel load theirs), so each tool runs only when its module is already there:
# ipvsadm when /proc/net/ip_vs exists, iptables-legacy when /proc/net/ip_tables_names
# does, ipset, nft, iptables-nft and conntrack when ip_set, nf_tables or
# nf_conntrack_netlink is loaded or built in (or the kernel cannot load modules).
# Nothing here writes anywhere but the output file (default pktpath-snapshot.json).
# What it could not read is printed on stderr and listed in the file under "errors".
set -u
OUT=${1:-pktpath-snapshot.json}
SYSCTLS='@@SYSCTLS@@'
ERRORS=''

note() {
  echo "pktpath-snapshot: $*" >&2
  ERRORS="$ERRORS$*
"
}

TAB=$(printf '\t')
CR=$(printf '\r')

# Standard input escaped for a JSON string, line by line (control characters dropped).
esc() {
  tr -d '\000-\010\013\014\016-\037' | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$TAB/\\\\t/g" -e "s/$CR/\\\\r/g"
}

# Standard input as one JSON string (lines joined with \n).
jstr() {
  esc | awk 'BEGIN { printf "\"" } { printf "%s%s", (NR > 1 ? "\\n" : ""), $0 } END { printf "\"" }'
}

# The path of program $1 in $PATH. Every tool the script reads with is run by its path:
# busybox sh (the VM's, a small node's) runs its own applets before $PATH, and busybox's
# `ip` is not iproute2's.
path_of() {
  _ifs=$IFS; IFS=:
  for _d in $PATH; do
    if [ -n "$_d" ] && [ -f "$_d/$1" ] && [ -x "$_d/$1" ]; then IFS=$_ifs; echo "$_d/$1"; return 0; fi
  done
  IFS=$_ifs
  return 1
}

have() { path_of "$1" >/dev/null; }

IP=$(path_of ip); BRIDGE=$(path_of bridge); IPTABLES=$(path_of iptables)
IPTABLES_SAVE=$(path_of iptables-save); IPSET=$(path_of ipset); IPVSADM=$(path_of ipvsadm)
NFT=$(path_of nft); CONNTRACK=$(path_of conntrack); NSENTER=$(path_of nsenter)

# Whether using a module's tool cannot make the kernel load it: it is loaded or built in,
# or this kernel cannot load modules at all (no /proc/modules).
present() {
  [ ! -e /proc/modules ] || [ -d "/sys/module/$1" ] ||
    grep -q "/$1\.ko" "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null
}

# field KEY NS_LABEL COMMAND...: "KEY":{"out":"...","rc":N}, the command run once in the
# namespace (through $PFX); its exit status follows its output on a marker line.
field() {
  key=$1; label=$2; shift 2
  printf '"%s":' "$key"
  # shellcheck disable=SC2086
  { $PFX "$@" 2>/dev/null; echo "@@pktpath-rc $?"; } | jfield "$label: $(cmd_text "$@")"
  printf ','
}

# field_bare KEY NS_LABEL COMMAND...: as field, without the comma after it.
field_bare() {
  key=$1; label=$2; shift 2
  printf '"%s":' "$key"
  # shellcheck disable=SC2086
  { $PFX "$@" 2>/dev/null; echo "@@pktpath-rc $?"; } | jfield "$label: $(cmd_text "$@")"
}

# A command as its reports name it: the program without its directory.
cmd_text() {
  _p=${1##*/}; shift
  echo "$_p $*"
}

# A command's output followed by its marker line, as {"out":"...","rc":N}, streamed
# (one line behind); a non-zero status is also reported on stderr.
jfield() {
  esc | awk -v what="$1" '
    BEGIN { printf "{\"out\":\"" }
    { if (NR > 1) printf "%s%s", (NR > 2 ? "\\n" : ""), prev; prev = $0 }
    END {
      # the marker ends the last line (after output that ends without a newline too);
      # found with index() on the tail: a regex over a long line would be slow
      tail = substr(prev, length(prev) > 40 ? length(prev) - 39 : 1)
      i = index(tail, "@@pktpath-rc ")
      rc = substr(tail, i + 13) + 0
      last = substr(prev, 1, length(prev) - length(tail) + i - 1)
      if (last != "") printf "%s%s", (NR > 1 ? "\\n" : ""), last
      printf "\",\"rc\":%d}", rc
      if (rc != 0) printf "pktpath-snapshot: %s: exit %d\n", what, rc | "cat 1>&2"
    }'
}

missing() {
  printf '"%s":null,' "$1"
  note "$2: $3"
}

# One namespace: NAME KIND ID, with PFX set to the prefix that enters it.
dump_ns() {
  name=$1; kind=$2; id=$3
  printf '{"name":"%s","kind":"%s","id":"%s",' "$name" "$kind" "$id"
  if have ip; then
    field link "$name" "$IP" -j -d link show
    field address "$name" "$IP" -j address show
    field route "$name" "$IP" -j route show table all
    field rule "$name" "$IP" -j rule show
    field neigh "$name" "$IP" -j neigh show
  else
    missing link "$name" "ip: not installed"
  fi
  if have bridge; then field bridge_link "$name" "$BRIDGE" -j link show; else missing bridge_link "$name" "bridge: not installed"; fi
  # shellcheck disable=SC2086
  printf '"sysctl":'
  { $PFX sh -c 'cd /proc/sys && grep "" $1 /dev/null 2>/dev/null' sh "$SYSCTLS"; echo "@@pktpath-rc 0"; } | jfield "$name: sysctl"
  printf ','

  backend=''
  if have iptables; then
    field iptables_version "$name" "$IPTABLES" -V
    case $("$IPTABLES" -V 2>/dev/null) in *nf_tables*) backend=nft ;; *) backend=legacy ;; esac
  else
    missing iptables_version "$name" "iptables: not installed"
  fi
  if ! have iptables-save; then missing iptables_save "$name" "iptables-save: not installed"
  elif [ "$backend" = nft ] && ! present nf_tables; then printf '"iptables_save":{"out":"","rc":0},'
  elif [ "$backend" = legacy ] && ! $PFX sh -c 'test -e /proc/net/ip_tables_names'; then printf '"iptables_save":{"out":"","rc":0},'
  else field iptables_save "$name" "$IPTABLES_SAVE" -c; fi
  if ! have ipset; then missing ipset_save "$name" "ipset: not installed"
  elif ! present ip_set; then printf '"ipset_save":{"out":"","rc":0},'
  else field ipset_save "$name" "$IPSET" save; fi
  if ! $PFX sh -c 'test -e /proc/net/ip_vs'; then printf '"ipvsadm_save":{"out":"","rc":0},"ipvsadm_list":null,'
  elif ! have ipvsadm; then missing ipvsadm_save "$name" "ipvsadm: not installed (IPVS is in use)"
  else
    field ipvsadm_save "$name" "$IPVSADM" -Sn
    field ipvsadm_list "$name" "$IPVSADM" -Ln --timeout
  fi
  # nft: the tables iptables-nft keeps (ip filter, nat, mangle, raw, security) are read
  # above through iptables-save; every other table is listed here.
  if have nft && present nf_tables; then
    tables=$($PFX "$NFT" list tables 2>/dev/null | while read -r _ fam tname; do
      case "$backend $fam $tname" in "nft ip filter"|"nft ip nat"|"nft ip mangle"|"nft ip raw"|"nft ip security") ;; *) printf '%s:%s ' "$fam" "$tname" ;; esac
    done)
    printf '"nft_tables":{'
    sep=''
    for t in $tables; do
      printf '%s' "$sep"; sep=','
      field_bare "$t" "$name" "$NFT" -j list table "${t%%:*}" "${t#*:}"
    done
    printf '},'
  else
    printf '"nft_tables":null,'
    if ! have nft && [ -n "$backend" ] && present nf_tables; then note "$name: nft: not installed (native nftables tables, if any, are not read)"; fi
  fi
  if [ "${PKTPATH_CONNTRACK:-0}" = 1 ] && have conntrack && present nf_conntrack_netlink; then
    field conntrack "$name" "$CONNTRACK" -L
  else
    printf '"conntrack":null,'
  fi
  printf '"end":true}'
}

ns_inode() { readlink "$1" 2>/dev/null | tr -cd '0-9'; }

{
  printf '{"pktpath_snapshot":1,"hostname":'; (hostname 2>/dev/null || cat /proc/sys/kernel/hostname) | jstr
  printf ',"kernel":'; uname -r | jstr
  printf ',"date":'; date -u '+%Y-%m-%dT%H:%M:%SZ' | jstr
  printf ',"netns":['
  SEEN=" $(ns_inode /proc/$$/ns/net) "
  PFX=''
  dump_ns host root "$(ns_inode /proc/$$/ns/net)"
  if have ip; then
    for n in $("$IP" netns list 2>/dev/null | awk '{ print $1 }'); do
      ino=$(ls -iL "/run/netns/$n" 2>/dev/null | awk '{ print $1 }')
      case "$SEEN" in *" $ino "*) continue ;; esac
      SEEN="$SEEN$ino "
      if have nsenter; then PFX="$NSENTER --net=/run/netns/$n"; else PFX="$IP netns exec $n"; fi
      printf ','
      dump_ns "$n" named "$ino"
    done
  fi
  for p in /proc/[0-9]*; do
    pid=${p#/proc/}
    ino=$(ns_inode "$p/ns/net")
    [ -n "$ino" ] || continue
    case "$SEEN" in *" $ino "*) continue ;; esac
    SEEN="$SEEN$ino "
    comm=$(tr -c 'A-Za-z0-9_.\n-' '_' < "$p/comm" 2>/dev/null | head -n 1)
    if ! have nsenter; then note "netns of process $pid ($comm): nsenter not installed"; continue; fi
    PFX="$NSENTER --net=$p/ns/net"
    printf ','
    dump_ns "${comm:-proc}-$pid" process "$ino"
  done
  printf '],"errors":'
  printf '%s' "$ERRORS" | jstr
  printf '}\n'
} > "$OUT"
echo "pktpath-snapshot: wrote $OUT" >&2
