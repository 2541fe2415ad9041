"""The verifier app's JavaScript: its own unit tests (node --test) pass, and the committed
verifier/dist is exactly what the build makes from the sources and the lockfile."""

from __future__ import annotations

import subprocess

from tests.support.node_js import VERIFIER, node_or_skip


def test_javascript_unit_tests_pass():
    node = node_or_skip()
    files = sorted(str(p.relative_to(VERIFIER)) for p in (VERIFIER / "test").glob("*.test.js"))
    assert files
    result = subprocess.run([node, "--test", *files], cwd=VERIFIER, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout


def test_committed_build_is_current(tmp_path):
    node = node_or_skip()
    subprocess.run([node, "build.mjs", str(tmp_path)], cwd=VERIFIER, check=True, timeout=120)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built == sorted(p.name for p in (VERIFIER / "dist").iterdir())
    for name in built:
        assert (tmp_path / name).read_bytes() == (VERIFIER / "dist" / name).read_bytes(), (
            f"verifier/dist/{name} is stale: run ./dev verifier and commit it")
