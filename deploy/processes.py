"""Process and port bookkeeping for the processes that deploy/ starts.

The launcher must never touch a port or a process it did not start. A bare pid is not
enough for that (pids are reused), so every process we start is recorded with its pid and
its kernel start time (field 22 of /proc/<pid>/stat). A recorded process is "ours" only
while both still match.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

# Popen objects of the children this process started, kept so they are reaped (waited
# for) when stopped rather than left as zombies or garbage-collected while still running.
_children: dict[int, subprocess.Popen] = {}


class DeployError(Exception):
    """A start-up problem with a message that names the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class ProcessRecord:
    """A process that deploy/ started: enough to find it again and to be sure it is ours."""

    name: str
    pid: int
    start_ticks: int
    log: str

    def is_alive(self) -> bool:
        """True while the pid exists and is still the process we started."""
        return process_start_ticks(self.pid) == self.start_ticks

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ProcessRecord:
        return cls(str(data["name"]), int(data["pid"]), int(data["start_ticks"]), str(data["log"]))


def process_start_ticks(pid: int) -> int | None:
    """The kernel start time of a pid, or None when no such process runs (or it is a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def spawn(name: str, argv: list[str], log_path: Path, *, env: dict | None = None,
          cwd: Path | None = None, user: str | None = None) -> ProcessRecord:
    """Start a long-running process in its own session, logging to log_path.

    Its own session (and so its own process group) lets `stop` signal the process and any
    children together, and keeps Ctrl-C in the launcher's terminal from reaching it.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, start_new_session=True, user=user,
        )
    _children[proc.pid] = proc
    ticks = process_start_ticks(proc.pid)
    if ticks is None:
        raise DeployError(f"{name} exited at once; see {log_path}")
    return ProcessRecord(name, proc.pid, ticks, str(log_path))


def stop(record: ProcessRecord, *, timeout: float = 20.0, first: int = signal.SIGTERM) -> bool:
    """Signal the process group of a recorded process (SIGTERM), then SIGKILL after timeout.

    Returns True if the process was ours and is now gone; False if it was not running.
    Nothing is signalled unless the pid still belongs to the process we started.
    """
    if not record.is_alive():
        return False
    _signal_group(record.pid, first)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and record.is_alive():
        time.sleep(0.1)
    if record.is_alive():
        _signal_group(record.pid, signal.SIGKILL)
    while record.is_alive():
        time.sleep(0.05)
    child = _children.pop(record.pid, None)
    if child is not None:
        child.wait()
    return True


def kill(record: ProcessRecord) -> bool:
    """SIGKILL a recorded process group at once (fault injection) and reap it."""
    return stop(record, timeout=0, first=signal.SIGKILL)


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port (we only bind loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port that is free right now (for tests that start their own services)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, *, timeout: float, host: str = "127.0.0.1",
                  alive: ProcessRecord | None = None) -> None:
    """Block until host:port accepts connections, or raise DeployError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            pass
        if alive is not None and not alive.is_alive():
            raise DeployError(f"{alive.name} exited during start-up; see {alive.log}")
        time.sleep(0.1)
    raise DeployError(f"nothing answered on {host}:{port} within {timeout:.0f}s")


def tail(path: Path | str, lines: int = 20) -> str:
    """The last lines of a log file, for error messages."""
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
