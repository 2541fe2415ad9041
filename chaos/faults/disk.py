"""Disk full: a node's PostgreSQL data on a small filesystem of its own, filled up.

Inject: stop the node's PostgreSQL (fast), move its data folder aside (a rename), mount a
size-limited tmpfs in its place, copy the data in, start PostgreSQL again, then fill the
tmpfs with a filler file until the kernel says ENOSPC. PostgreSQL then fails to extend a
table (DiskFullError, which the node answers as 503 ``database.storage_full``) or to add a
WAL segment (it PANICs and cannot finish crash recovery until space returns: 503
``database.unavailable``).

Undo: delete the filler (space returns), start PostgreSQL if it gave up, then move the data
back to the real disk (stop, copy, unmount, rename, start). The move-back happens inside
the fault window, so its short outage counts against the node's availability.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path

from chaos.faults.ledger import Ledger
from chaos.faults.process import node_spec
from deploy.launcher import Federation
from deploy.postgres import PG_USER

FILLER = "chaos-filler.bin"
ASIDE = "data.on-disk"


def _du_mb(folder: Path) -> int:
    out = subprocess.run(["du", "-sm", str(folder)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def _fill(folder: Path) -> int:
    """Write zeros into folder/FILLER until the filesystem is full; bytes written."""
    written, chunk = 0, b"\0" * (1 << 20)
    fd = os.open(folder / FILLER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(1 << 16):  # bounded: the tmpfs is small
            try:
                written += os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    finally:
        os.close(fd)
    return written


def _copy_tree(src: Path, dst: Path) -> None:
    subprocess.run(["cp", "-a", f"{src}/.", str(dst)], check=True)


def fill_disk(fed: Federation, ledger: Ledger, target: str, params: dict) -> str:
    """Move the node's PostgreSQL data onto a small tmpfs and fill it up."""
    node = node_spec(fed, target)
    cluster = fed.postgres(node)
    data, aside = cluster.data_dir, cluster.root / ASIDE
    if aside.exists():
        raise RuntimeError(f"{aside} exists: an earlier disk-full fault was not undone")
    headroom = int(params.get("headroom_mb", 48))
    size_mb = _du_mb(data) + headroom
    entry = ledger.add("restore_db_disk", node=target)
    with fed.in_region(node.region):
        cluster.stop(mode="fast")
    data.rename(aside)
    data.mkdir(mode=0o700)
    shutil.chown(data, PG_USER, PG_USER)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(data)],
                   check=True)
    shutil.chown(data, PG_USER, PG_USER)
    _copy_tree(aside, data)
    with fed.in_region(node.region):
        cluster.start(timeout=60)
    _fill(data)
    return entry


def undo_restore_db_disk(fed: Federation, entry: dict) -> None:
    node = node_spec(fed, entry["node"])
    cluster = fed.postgres(node)
    data, aside = cluster.data_dir, cluster.root / ASIDE
    (data / FILLER).unlink(missing_ok=True)  # space returns
    if not _mounted(data):
        # The inject stopped before or at the mount: put the real data folder back.
        if aside.exists():
            if data.exists():
                os.rmdir(data)  # the empty mount point (rmdir refuses anything else)
            aside.rename(data)
        with fed.in_region(node.region):
            cluster.start(timeout=60)
        return
    with fed.in_region(node.region):
        cluster.start(timeout=60)  # a PANICked server comes back once there is room
        cluster.stop(mode="fast")
    shutil.rmtree(aside)  # the tmpfs copy is the newer one
    aside.mkdir(mode=0o700)
    _copy_tree(data, aside)
    subprocess.run(["umount", str(data)], check=True)
    os.rmdir(data)
    aside.rename(data)
    shutil.chown(data, PG_USER, PG_USER)
    with fed.in_region(node.region):
        cluster.start(timeout=60)


def _mounted(folder: Path) -> bool:
    return any(line.split()[1] == str(folder) for line in Path("/proc/mounts").read_text().splitlines())


INJECT = {"disk_full": fill_disk}
UNDO = {"restore_db_disk": undo_restore_db_disk}
