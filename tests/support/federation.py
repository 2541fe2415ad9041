"""A real federation for tests, started with the launcher on free loopback ports."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from deploy.federation_spec import DEFAULT_FILE, load_spec
from deploy.launcher import Federation
from deploy.processes import free_port


def federation_file(folder: Path, **replace: str) -> Path:
    """The default federation description with every port swapped for a free one."""
    text = DEFAULT_FILE.read_text()
    text = re.sub(r"(http_port|pg_port|port|controller_port) = \d+",
                  lambda m: f"{m.group(1)} = {free_port()}", text)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / "federation.toml"
    path.write_text(text)
    return path


def service_folder(prefix: str) -> Path:
    """A temporary folder the postgres user can enter (pytest's tmp_path is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)
    return folder


@contextmanager
def launched_federation(seed_residents: int = 0, use_netns: bool = False) -> Iterator[Federation]:
    """Start the default three-town federation; stop it and delete its folder afterwards."""
    folder = service_folder("risai-fed-")
    federation = Federation(load_spec(federation_file(folder)), folder / "run")
    try:
        federation.up(say=lambda _line: None, seed_residents=seed_residents, use_netns=use_netns)
        yield federation
    finally:
        federation.down(say=lambda _line: None)
        shutil.rmtree(folder, ignore_errors=True)
