"""Node.js for the verifier's tests: the executable, or a skip (a failure when CI=true)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

VERIFIER = Path(__file__).resolve().parents[2] / "verifier"


def node_or_skip() -> str:
    """The node executable with the verifier's npm packages installed."""
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed (./dev setup installs Debian's nodejs and npm)"
    elif not (VERIFIER / "node_modules" / "esbuild").is_dir():
        missing = "verifier/node_modules is missing (./dev verifier runs npm ci)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the verifier tests need it in CI: {missing}")
        pytest.skip(missing)
    return node
