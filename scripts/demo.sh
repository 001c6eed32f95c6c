#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The whole path in one command: installs dependencies, builds, generates a
# capture of synthetic sensors, starts a development broker, replays the
# capture through weir (DPDK, --no-huge virtual port), prints the summary
# and the first window aggregates read back from Kafka with kcat.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null
fi
ninja -C build >/dev/null
echo "demo: built weir in build/"

work=$(mktemp -d /tmp/weir-demo.XXXXXX)
broker_pid=""
cleanup() {
	[ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "demo: generating 2 minutes of 200 sensors (JSON, line protocol, SNR1)"
build/tools/weir-gen -o "$work/sensors.pcap" --devices 200 --rate 2000 --duration 120 \
	--encoding json=2,influx=1,snr1=1 --jitter 2 --late 0.01 --malformed 0.01 --seed 1

build/tools/weir-devbroker --bootstrap-file "$work/bootstrap" >/dev/null &
broker_pid=$!
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
addr=$(cat "$work/bootstrap")
echo "demo: weir-devbroker listening at $addr"

echo "demo: weir replay (summary JSON follows)"
build/tools/weir replay "$work/sensors.pcap" -c config/weir.conf \
	--set kafka.brokers="$addr" | tee "$work/summary.json" | python3 -m json.tool

echo "demo: first aggregates on topic 'aggregated' (kcat -b $addr -t aggregated -C)"
kcat -b "$addr" -t aggregated -C -e -o beginning -q -c 5 | while read -r line; do
	echo "$line" | python3 -m json.tool --compact
done
