#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Runs every test: installs dependencies, builds with gcc and clang
# (-Werror) and an ASan+UBSan build, runs the cmocka unit tests, the fuzz
# corpora, the reference model's own tests and the integration suite
# (weir replay -> weir-devbroker -> Kafka consumer vs tests/refmodel.py).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/lint.sh

JOBS=${JOBS:-2}
setup() {	# dir, compiler, extra meson args...
	local dir=$1 cc=$2
	shift 2
	if [ ! -f "$dir/build.ninja" ]; then
		CC=$cc meson setup "$dir" -Dwerror=true "$@" >/dev/null
	fi
	ninja -C "$dir" -j"$JOBS" >"$dir/ninja-test.log" 2>&1 ||
		{ grep -E -A8 "error|FAILED" "$dir/ninja-test.log" | head -60; echo "test: build $dir failed"; exit 1; }
	echo "test: built $dir ($cc $*)"
}

setup build-gcc gcc
setup build-clang clang
setup build-asan gcc -Db_sanitize=address,undefined -Db_lundef=false

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0

echo "== [${SECONDS}s] unit + fuzz corpora (gcc)"
meson test -C build-gcc --print-errorlogs --num-processes 2
echo "== [${SECONDS}s] unit + fuzz corpora (clang)"
meson test -C build-clang --print-errorlogs --num-processes 2
echo "== [${SECONDS}s] unit + fuzz corpora (ASan+UBSan)"
meson test -C build-asan --print-errorlogs --num-processes 1 -t 3

echo "== [${SECONDS}s] reference model self-test"
python3 -m unittest discover -s tests -p 'test_refmodel.py'

echo "== [${SECONDS}s] integration (gcc build)"
python3 tests/integration/run.py --build build-gcc
echo "== [${SECONDS}s] integration (ASan+UBSan build, quick set)"
python3 tests/integration/run.py --build build-asan --quick

echo "== [${SECONDS}s] contract acceptance (hand-built captures vs SPEC, gcc build)"
WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_contract.py

echo "== [${SECONDS}s] metrics and status page (gcc build)"
if command -v chromium >/dev/null; then
	python3 tests/integration/test_metrics.py --build build-gcc
else
	echo "test: chromium could not be installed: status page checks skipped"
	python3 tests/integration/test_metrics.py --build build-gcc --no-browser
fi

echo "== [${SECONDS}s] weirctl against a running weir (gcc build)"
WEIR_BUILD=build-gcc python3 tests/integration/test_weirctl.py

echo "== [${SECONDS}s] weirctl set window: a size/slide change at run time (gcc build)"
WEIR_BUILD=build-gcc python3 tests/integration/test_winchange.py

echo "== [${SECONDS}s] install layout, setup-host.sh --dry-run, weirctl reload (gcc build)"
WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_install.py

echo "== [${SECONDS}s] live network: weir run on AF_PACKET in a namespace; ping, arping, real clients (gcc)"
WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_netns.py

echo "== [${SECONDS}s] security: socket, metrics bind, secrets, user switch, bad config (gcc build)"
WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_security.py

echo "== [${SECONDS}s] libFuzzer smoke: every target a few seconds (clang, ASan+UBSan)"
if echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
	clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
	setup build-fuzz clang -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
	for f in tests/fuzz/corpus/*/; do
		t=$(basename "$f")
		work=$(mktemp -d)
		build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="${FUZZ_SECONDS:-5}" -timeout=10 \
			-rss_limit_mb=2048 "$work" "$f" >"$work.log" 2>&1 ||
			{ tail -40 "$work.log"; echo "test: fuzz_$t failed"; exit 1; }
		echo "test: fuzz_$t $(grep -o 'Done [0-9]* runs' "$work.log")"
		rm -rf "$work" "$work.log"
	done
else
	echo "test: clang's libFuzzer not available: fuzz smoke skipped"
fi
echo "== [${SECONDS}s] Kafka faults, spill journal, bounded shutdown (gcc build)"
WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_faults.py

echo "== [${SECONDS}s] crash recovery: checkpoints across SIGKILL (gcc build)"
WEIR_BUILD=build-gcc python3 -m unittest tests/integration/test_checkpoint.py

echo "== [${SECONDS}s] overload: 10x max_devices into a slow broker, bounded memory and logs (gcc build)"
(cd tests/integration && WEIR_BUILD=build-gcc python3 -m unittest test_overload)

echo "== [${SECONDS}s] several RX queues: RSS spread vs a Toeplitz model, same results as one queue (gcc)"
(cd tests/integration && WEIR_BUILD=build-gcc python3 -m unittest test_rxqueues)

echo "== [${SECONDS}s] perf harness, smoke mode (no timing asserts)" && perf/run.sh --smoke >/dev/null
echo "test: all stages passed in ${SECONDS}s"
