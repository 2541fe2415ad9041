"""A PostgreSQL cluster of a test's own, for tests that kill, fill or restart it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from deploy.postgres import PostgresCluster
from deploy.processes import free_port


def service_root(name: str) -> Path:
    """A fresh folder the postgres user can enter (pytest's tmp_path is 0700 root)."""
    root = Path(tempfile.mkdtemp(prefix=f"risai-{name}-"))
    os.chmod(root, 0o755)
    return root


@contextlib.contextmanager
def throwaway_cluster(name: str) -> Iterator[PostgresCluster]:
    """A started test cluster (fsync off) in its own folder; destroyed afterwards."""
    cluster = PostgresCluster.at(service_root(name) / "pg", free_port())
    cluster.init(for_tests=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()
