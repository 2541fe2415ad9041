"""Browser-test fixtures: ``chromium`` is session-scoped so a missing browser skips (or, in
CI, fails) before any database or PKI is built."""

import pytest

from tests.browser.support import chromium_or_skip


@pytest.fixture(scope="session")
def chromium() -> str:
    return chromium_or_skip()
