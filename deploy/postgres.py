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
        """True when this cluster's postmaster is up (pg_ctl status)."""
        if not self.initialised():
            return False
        result = subprocess.run(
            [str(find_pg_bin() / "pg_ctl"), "status", "-D", str(self.data_dir)],
            capture_output=True, user=PG_USER, group=PG_USER,
        )
        return result.returncode == 0

    def start(self, *, timeout: float = 30.0) -> None:
        """Start the server (idempotent) and wait until it accepts connections."""
        if self.running():
            return
        if port_in_use(self.port):
            raise DeployError(f"port {self.port} for PostgreSQL at {self.root} is already in use "
                              f"by another program; free it or choose another pg_port")
        bin_dir = find_pg_bin()
        try:
            self._run_as_postgres([
                str(bin_dir / "pg_ctl"), "start", "-D", str(self.data_dir), "-l",
                str(self.log_path), "-w", "-t", str(int(timeout)),
            ], log_owner=True)
        except DeployError as exc:
            raise DeployError(f"{exc}\n{tail(self.log_path)}") from exc
        self._wait_ready(bin_dir, timeout)

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
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

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
