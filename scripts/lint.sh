#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# House style checks (STYLE.md "Look") on every C source and header:
# SPDX line first, lines of at most 100 columns (tabs as 8), indentation
# with tabs, no trailing white space. `clang-format --dry-run` with the
# repository's .clang-format shows the full DPDK-style layout on demand.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
files=$(git ls-files '*.c' '*.h')
for f in $files; do
	if ! head -n 1 "$f" | grep -q 'SPDX-License-Identifier'; then
		echo "$f:1: missing SPDX-License-Identifier line"
		status=1
	fi
done
# shellcheck disable=SC2086
awk '
	{
		# columns with tab stops every 8
		col = 0
		for (i = 1; i <= length($0); i++)
			col = substr($0, i, 1) == "\t" ? col - col % 8 + 8 : col + 1
	}
	col > 100 { printf "%s:%d: %d columns (max 100)\n", FILENAME, FNR, col; bad = 1 }
	/^        / { printf "%s:%d: indented with spaces (use tabs)\n", FILENAME, FNR; bad = 1 }
	/[ \t]+$/ { printf "%s:%d: trailing white space\n", FILENAME, FNR; bad = 1 }
	END { exit bad }
' $files || status=1
if [ $status -eq 0 ]; then
	echo "lint: $(echo "$files" | wc -w) files clean"
fi
exit $status
