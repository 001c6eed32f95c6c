#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Prepares a dedicated NIC host for weir: checks the CPU, reserves hugepages
# (dpdk-hugepages.py), lists the NICs and binds the chosen one to vfio-pci
# (dpdk-devbind.py), and suggests CPU isolation. --dry-run prints the plan
# and changes nothing. It never unbinds the NIC that carries the default
# route (you would lose the host).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: scripts/setup-host.sh [--dry-run] [--nic PCI|IFACE] [--hugepages SIZE]
                             [--pagesize 2M|1G] [--driver vfio-pci|uio_pci_generic]

Prepare this host to run weir on a DPDK port.

  --dry-run          print every step and command, change nothing
  --nic DEV          the NIC to give to DPDK: PCI address (0000:03:00.0) or
                     kernel interface name (enp3s0); without it the NICs are
                     listed and none is bound
  --hugepages SIZE   hugepage memory to reserve, K/M/G suffix (default 2G)
  --pagesize SIZE    hugepage size: 2M (default) or 1G (needs pdpe1gb)
  --driver DRV       driver to bind the NIC to (default vfio-pci)
  -h, --help         this text

Exit status: 0 done (or planned), 1 refused or a step failed, 2 usage.
Without a DPDK-capable NIC use a kernel port type instead (no binding):
  weir run -c /etc/weir/weir.conf -- --vdev=net_af_packet0,iface=eth1
EOF
}

DRY=0 NIC="" HUGE=2G PAGE=2M DRIVER=vfio-pci
while [ $# -gt 0 ]; do
	case $1 in
	--dry-run) DRY=1 ;;
	--nic|--hugepages|--pagesize|--driver)
		[ $# -ge 2 ] || { echo "setup-host: $1 needs a value (see --help)" >&2; exit 2; }
		case $1 in
		--nic) NIC=$2 ;;
		--hugepages) HUGE=$2 ;;
		--pagesize) PAGE=$2 ;;
		--driver) DRIVER=$2 ;;
		esac
		shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "setup-host: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $HUGE in
[0-9]*[KMG]) ;;
*) echo "setup-host: --hugepages '$HUGE': a size like 512M or 2G" >&2; exit 2 ;;
esac
case $PAGE in
2M|1G) ;;
*) echo "setup-host: --pagesize '$PAGE': 2M or 1G" >&2; exit 2 ;;
esac
case $DRIVER in
vfio-pci|uio_pci_generic|igb_uio) ;;
*) echo "setup-host: --driver '$DRIVER': vfio-pci, uio_pci_generic or igb_uio" >&2; exit 2 ;;
esac
if [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
	echo "setup-host: changing hugepages and NIC drivers needs root (or use --dry-run)" >&2
	exit 1
fi

say() { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
# run CMD...: print it; run it unless --dry-run
run() {
	if [ "$DRY" = 1 ]; then
		say "  would run: $*"
	else
		say "  running: $*"
		"$@"
	fi
}
need_tool() {
	command -v "$1" >/dev/null || {
		say "  $1 not found: install Debian's dpdk package (apt-get install dpdk)"
		return 1
	}
}

# PCI address of a kernel interface (walks up from its device link), or ""
iface_pci() {
	local p
	[ -e "/sys/class/net/$1/device" ] || return 0
	p=$(readlink -f "/sys/class/net/$1/device")
	while [ "$p" != / ]; do
		case ${p##*/} in
		[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])
			echo "${p##*/}"
			return 0 ;;
		esac
		p=${p%/*}
	done
}

step "CPU"
ncpu=$(nproc --all)
model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
say "  $ncpu CPUs: ${model:-unknown model} ($(uname -m))"
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
cpu_ok=1
if [ "$(uname -m)" = x86_64 ]; then
	for f in sse4_2 pdpe1gb avx2; do
		if grep -qw "$f" <<<"$flags"; then
			say "  $f: yes"
		else
			say "  $f: no"
			[ "$f" = sse4_2 ] && cpu_ok=0
		fi
	done
	[ "$cpu_ok" = 1 ] || say "  Debian's DPDK is built for corei7 (SSE4.2): this CPU cannot run it"
	if [ "$PAGE" = 1G ] && ! grep -qw pdpe1gb <<<"$flags"; then
		say "  1G pages need pdpe1gb: use --pagesize 2M"
		exit 1
	fi
fi
nodes=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | wc -l)
say "  NUMA nodes: ${nodes:-1} (put weir's lcores on the NIC's node)"

step "hugepages ($HUGE in $PAGE pages)"
grep -E '^(HugePages_Total|HugePages_Free|Hugepagesize)' /proc/meminfo | sed 's/^/  now: /'
if need_tool dpdk-hugepages.py; then
	run dpdk-hugepages.py --pagesize "$PAGE" --setup "$HUGE"
	say "  to keep them across reboots, add to the kernel command line:"
	n=${HUGE%[KMG]}
	case $HUGE in
	*K) kib=$n ;;
	*M) kib=$((n * 1024)) ;;
	*G) kib=$((n * 1024 * 1024)) ;;
	esac
	if [ "$PAGE" = 1G ]; then
		say "    default_hugepagesz=1G hugepagesz=1G hugepages=$(((kib + 1048575) / 1048576))"
	else
		say "    hugepages=$(((kib + 2047) / 2048))"
	fi
fi

step "NICs"
route_if=$(ip -o route show default 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "dev") print $(i + 1)}' | sort -u)
route_pci=""
for i in $route_if; do
	route_pci="$route_pci $(iface_pci "$i")"
done
say "  default route via: ${route_if:-none} (never unbound)"
for d in /sys/class/net/*; do
	i=${d##*/}
	[ "$i" = lo ] && continue
	pci=$(iface_pci "$i")
	drv=$(basename "$(readlink -f "$d/device/driver" 2>/dev/null)" 2>/dev/null || true)
	[ -e "$d/device/driver" ] || drv=virtual
	note=""
	case " $route_if " in *" $i "*) note=" (default route)" ;; esac
	say "  $i: pci=${pci:-none} driver=$drv$note"
done
if command -v dpdk-devbind.py >/dev/null; then
	say "  dpdk-devbind.py --status-dev net:"
	dpdk-devbind.py --status-dev net 2>/dev/null | sed -n '/^[0-9a-f]/s/^/    /p' || true
fi

step "bind a NIC to $DRIVER"
if [ -z "$NIC" ]; then
	say "  no --nic given: nothing to bind. Choose a NIC from the list above that"
	say "  does not carry the default route, then: scripts/setup-host.sh --nic PCI"
else
	pci=$NIC
	if [ -e "/sys/class/net/$NIC" ]; then
		pci=$(iface_pci "$NIC")
		[ -n "$pci" ] || { say "  $NIC is not a PCI device: nothing to bind (use AF_PACKET)"; exit 1; }
	fi
	if [ ! -e "/sys/bus/pci/devices/$pci" ]; then
		say "  $NIC: no such interface or PCI device"
		exit 1
	fi
	for r in $route_pci; do
		if [ "$r" = "$pci" ]; then
			say "  refusing: $NIC ($pci) carries the default route; unbinding it would"
			say "  cut this host off the network. Pick another NIC."
			exit 1
		fi
	done
	if [ "$DRIVER" = vfio-pci ] &&
	   [ -z "$(ls /sys/kernel/iommu_groups 2>/dev/null)" ]; then
		say "  no IOMMU groups: enable the IOMMU (kernel command line intel_iommu=on"
		say "  iommu=pt, or amd_iommu=on) and reboot, or use --driver uio_pci_generic"
	fi
	for i in /sys/bus/pci/devices/"$pci"/net/*; do
		[ -e "$i" ] && run ip link set dev "${i##*/}" down
	done
	run modprobe "$DRIVER"
	need_tool dpdk-devbind.py && run dpdk-devbind.py --bind="$DRIVER" "$pci"
	say "  then point weir at it: [eal] args = -a $pci (or weir run ... -- -a $pci)"
fi

step "CPU isolation (suggestion, not applied)"
if [ "$ncpu" -gt 2 ]; then
	iso="2-$((ncpu - 1))"
else
	iso="1"
fi
say "  keep CPU 0 (and 1 on larger hosts) for the kernel, the sink and librdkafka;"
say "  isolate the rest for the RX and aggregator lcores. Kernel command line:"
say "    isolcpus=$iso nohz_full=$iso rcu_nocbs=$iso"
say "  (/etc/default/grub GRUB_CMDLINE_LINUX, then update-grub and reboot), and in"
say "  weir.service: CPUAffinity=$iso"
[ "$DRY" = 1 ] && say "" && say "dry run: nothing was changed"
exit 0
