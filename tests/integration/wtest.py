# SPDX-License-Identifier: BSD-3-Clause
"""What the integration tests share: the repository root and the build
directory to test (WEIR_BUILD, else build-gcc, else build)."""
import os
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def build_dir(tool="weirctl"):
    """The build directory holding tools/<tool> (WEIR_BUILD: absolute, or
    relative to the repository root). Without WEIR_BUILD and no build-gcc or
    build, the test is skipped; a WEIR_BUILD that does not hold the tool is
    an error, never a silent skip."""
    want = os.environ.get("WEIR_BUILD")
    for d in ([want] if want else ["build-gcc", "build"]):
        path = d if os.path.isabs(d) else os.path.join(ROOT, d)
        if os.path.exists(os.path.join(path, "tools", tool)):
            return path
    if want:
        raise RuntimeError("WEIR_BUILD=%s: no tools/%s in %s" % (want, tool, path))
    raise unittest.SkipTest("no build with tools/%s (set WEIR_BUILD)" % tool)
