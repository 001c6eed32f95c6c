#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs every package weir needs to build, test and demo (Debian 12).
# Idempotent: packages already present are skipped. Needs root or sudo.
set -euo pipefail

PKGS=(
	build-essential gcc clang meson ninja-build pkg-config
	libdpdk-dev dpdk librdkafka-dev libjemalloc-dev libcmocka-dev libpcap-dev
	kcat python3 iproute2 python3-prometheus-client chromium tmux
	iputils-ping iputils-arping socat python3-influxdb
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || { echo "install-deps: need root or sudo" >&2; exit 1; }
	SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null
echo "install-deps: done"
