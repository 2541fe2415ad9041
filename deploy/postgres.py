"""Throwaway PostgreSQL 15 clusters on loopback, one per node (and one for the test suite).

PostgreSQL refuses to run as root, so initdb and the server run as the `postgres` system
user (Debian's postgresql-15 package creates it) on a data folder owned by that user.
The server listens on 127.0.0.1 only, with its Unix socket in the cluster's own folder so
nothing is written to system folders.
"""

from __future__ import annotations

import dataclasses
import os
import pwd
import secrets
import shutil
import subprocess
import time
from pathlib import Path

from deploy.processes import DeployError, port_in_use, tail

PG_USER = "postgres"
SUPERUSER = "risai"
INSTALL_HINT = "install it with: apt-get install -y postgresql-15"
# Log lines of a start that failed only because a killed postmaster's leftovers (its pid
# file, its orphaned backends holding the shared memory) were still there: worth a retry.
LEFTOVER_MARKS = ("pre-existing shared memory block", "already exists")


def find_pg_bin() -> Path:
    """The folder with PostgreSQL 15's server binaries, or a DeployError naming the fix."""
    override = os.environ.get("RISAI_PG_BIN")
    candidates = [Path(override)] if override else [Path("/usr/lib/postgresql/15/bin")]
    for folder in candidates:
        if (folder / "postgres").exists() and (folder / "initdb").exists():
            return folder
    raise DeployError(f"PostgreSQL 15 server binaries not found (looked in "
                      f"{', '.join(map(str, candidates))}); {INSTALL_HINT}")


def _postgres_ids() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError as exc:
        raise DeployError(f"system user {PG_USER!r} is missing; {INSTALL_HINT}") from exc
    return entry.pw_uid, entry.pw_gid


def process_alive(pid: int) -> bool:
    """True when ``pid`` is a running process: it exists and is not a zombie (state Z or
    X in /proc/<pid>/stat; the state follows the last ')' since the name may hold one)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    fields = stat.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] not in ("Z", "X")


def _pid_in(lock_file: Path) -> int | None:
    """The pid on the first line of a PostgreSQL lock file, or None."""
    try:
        return int(lock_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


@dataclasses.dataclass(frozen=True)
class PostgresCluster:
    """One PostgreSQL cluster: its folder, loopback port and superuser password."""

    root: Path
    port: int
    password: str

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def dsn(self, database: str = "postgres") -> str:
        """A libpq/asyncpg connection string for a database in this cluster."""
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    @classmethod
    def at(cls, root: Path, port: int) -> PostgresCluster:
        """The cluster in folder root, reusing its saved password if it was created before."""
        secret = root / "superuser.password"
        password = secret.read_text().strip() if secret.exists() else secrets.token_urlsafe(18)
        return cls(root, port, password)

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self, *, for_tests: bool = False) -> None:
        """initdb as the postgres user; scram auth on loopback. Idempotent."""
        if self.initialised():
            return
        bin_dir = find_pg_bin()
        uid, gid = _postgres_ids()
        self.root.mkdir(parents=True, exist_ok=True)
        for folder in (self.data_dir, self.socket_dir):
            folder.mkdir(exist_ok=True)
        os.chown(self.root, uid, gid)
        for folder in (self.data_dir, self.socket_dir):
            os.chown(folder, uid, gid)
        secret = self.root / "superuser.password"
        secret.write_text(self.password + "\n")
        os.chmod(secret, 0o600)
        pwfile = self.root / ".initdb.pw"
        pwfile.write_text(self.password + "\n")
        os.chown(pwfile, uid, gid)
        os.chmod(pwfile, 0o600)
        try:
            self._run_as_postgres([
                str(bin_dir / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
                f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=peer",
                "--encoding=UTF8", "--locale=C.UTF-8",
            ])
        finally:
            pwfile.unlink(missing_ok=True)
        settings = [
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            f"unix_socket_directories = '{self.socket_dir}'",
            "max_connections = 200",
            "shared_buffers = 128MB",
        ]
        if for_tests:
            # Only for throwaway test clusters: never in the federation or benchmarks.
            settings += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
        with open(self.data_dir / "postgresql.auto.conf", "a") as conf:
            conf.write("\n".join(settings) + "\n")

    def running(self) -> bool:
        """True when this cluster's postmaster is up: its pid from postmaster.pid is a live
        process (not a zombie) and pg_ctl status agrees.

        pg_ctl alone is not enough: a SIGKILLed postmaster stays a zombie until its parent
        reaps it, and kill(pid, 0), which pg_ctl uses, succeeds on a zombie.
        """
        if not self.initialised():
            return False
        pid = self.postmaster_pid()
        if pid is None or not process_alive(pid):
            return False
        result = subprocess.run(
            [str(find_pg_bin() / "pg_ctl"), "status", "-D", str(self.data_dir)],
            capture_output=True, user=PG_USER, group=PG_USER,
        )
        return result.returncode == 0

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server (idempotent) and wait until it accepts connections.

        After a crash (postmaster SIGKILLed) this is a restart: the stale pid file is
        removed, and while the dead postmaster's orphaned backends still hold its shared
        memory (they exit within a second or two) the start is tried again.
        """
        if self.running():
            return
        self._forget_dead_postmaster()
        if port_in_use(self.port):
            raise DeployError(f"port {self.port} for PostgreSQL at {self.root} is already in use "
                              f"by another program; free it or choose another pg_port")
        bin_dir = find_pg_bin()
        deadline = time.monotonic() + timeout
        for attempt in range(1, 1000):  # bounded by the deadline below
            try:
                self._run_as_postgres([
                    str(bin_dir / "pg_ctl"), "start", "-D", str(self.data_dir), "-l",
                    str(self.log_path), "-w", "-t", str(int(timeout)),
                ], log_owner=True)
                break
            except DeployError as exc:
                log_tail = tail(self.log_path)
                if time.monotonic() > deadline or not any(m in log_tail for m in LEFTOVER_MARKS):
                    raise DeployError(f"PostgreSQL at {self.root} did not start (attempt {attempt}):"
                                      f" {exc}\n{log_tail}") from None
                time.sleep(0.5)
                self._forget_dead_postmaster()
        self._wait_ready(bin_dir, max(1.0, deadline - time.monotonic()))

    def _forget_dead_postmaster(self) -> None:
        """Remove postmaster.pid and the socket's lock file when the pid they name is dead
        or a zombie.

        PostgreSQL would refuse to start over them when the pid is a zombie ("lock file
        already exists"); a dead pid it would overwrite anyway.
        """
        for lock in (self.data_dir / "postmaster.pid",
                     self.socket_dir / f".s.PGSQL.{self.port}.lock"):
            pid = _pid_in(lock)
            if pid is not None and not process_alive(pid):
                lock.unlink(missing_ok=True)

    def _wait_ready(self, bin_dir: Path, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise DeployError(f"PostgreSQL on port {self.port} not ready; see {self.log_path}")


    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server if it runs (fast mode: roll back sessions, checkpoint, exit)."""
        if not self.running():
            return
        self._run_as_postgres([
            str(find_pg_bin() / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w",
        ])

    def postmaster_pid(self) -> int | None:
        """The postmaster's pid from postmaster.pid, for fault injection (SIGKILL, SIGSTOP)."""
        return _pid_in(self.data_dir / "postmaster.pid")

    def destroy(self) -> None:
        """Stop the server and delete its folder."""
        self.stop(mode="immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def _run_as_postgres(self, argv: list[str], *, log_owner: bool = False) -> None:
        if log_owner:
            uid, gid = _postgres_ids()
            self.log_path.touch()
            os.chown(self.log_path, uid, gid)
        result = subprocess.run(argv, capture_output=True, text=True, user=PG_USER,
                                group=PG_USER, cwd=self.root)
        if result.returncode != 0:
            raise DeployError(f"{Path(argv[0]).name} failed for {self.root}: "
                              f"{(result.stderr or result.stdout).strip()}")
