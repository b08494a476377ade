"""A throwaway PostgreSQL server for tests and the benchmark: `initdb` in a temporary
directory, `pg_ctl`. Never a production database: fsync is off and auth is `trust`.

PostgreSQL refuses to run as root; when the tests run as root the server runs as the
`postgres` system user (or `nobody`), which is given the temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from vcl.localchain import free_port

SUPERUSER = "vcl"
UNPRIVILEGED_USERS = ("postgres", "nobody")


class PostgresUnavailable(Exception):
    """The server could not be set up; the message says which step failed and why."""


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(
        name, path="/usr/local/bin:/usr/lib/postgresql/15/bin"
    )
    if found is None:
        raise PostgresUnavailable(f"`{name}` is not on PATH: install the PostgreSQL 15 server")
    return found


class PostgresServer:
    def __init__(self) -> None:
        self._user: pwd.struct_passwd | None = None
        parent = None
        if os.geteuid() == 0:
            self._user = self._unprivileged_user()
            parent = "/tmp"  # noqa: S108 - every user can reach it, unlike root's own TMPDIR
        self.root = Path(tempfile.mkdtemp(prefix="vcl-pg-", dir=parent))
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()

    @staticmethod
    def _unprivileged_user() -> pwd.struct_passwd:
        for name in UNPRIVILEGED_USERS:
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise PostgresUnavailable(
            f"running as root and none of the users {UNPRIVILEGED_USERS} exists to run "
            "PostgreSQL as (initdb refuses root)"
        )

    def _run(self, step: str, command: list[str], timeout_s: float = 60) -> None:
        env = {**os.environ, "HOME": str(self.root), "LC_ALL": "C"}
        user = group = None
        extra_groups: list[int] | None = None
        if self._user is not None:
            user, group, extra_groups = self._user.pw_uid, self._user.pw_gid, []
        try:
            done = subprocess.run(  # noqa: S603 - argv from this module, no shell
                command,
                check=False,
                env=env,
                cwd=self.root,
                capture_output=True,
                text=True,
                timeout=timeout_s,
                user=user,
                group=group,
                extra_groups=extra_groups,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PostgresUnavailable(f"{step} failed: {exc}") from exc
        if done.returncode != 0:
            server_log = self.log.read_text() if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{step} exited with {done.returncode}:\n{done.stdout}\n{done.stderr}\n{server_log}"
            )

    def start(self) -> PostgresServer:
        try:
            self._init_and_start()
        except PostgresUnavailable:
            self._discard()
            raise
        return self

    def _init_and_start(self) -> None:
        self._run(
            "initdb",
            [_binary("initdb"), "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
             "--encoding=UTF8", "--no-sync", "--no-instructions"],
        )  # fmt: skip
        self._start_server()

    def _start_server(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl start",
            [_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
             "-w", "-t", "30", "start"],
        )  # fmt: skip

    def suspend(self) -> None:
        """Stop the server the way a crash does (`-m immediate`), keeping its data directory:
        every connection is cut and none is accepted until `resume`. For outage tests.

        This server commits without waiting for its write-ahead log (`synchronous_commit=off`,
        for speed), so a crash would lose its last commits; a checkpoint first keeps every
        commit, as a production server (synchronous commit on) would."""
        with self._connect_admin() as connection:
            connection.execute("CHECKPOINT")
        self._run("pg_ctl stop", [_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate",
                                  "-w", "stop"])  # fmt: skip

    def resume(self) -> None:
        """Start a suspended server again on the same port with the same data (PostgreSQL
        recovers from its write-ahead log, as after a crash)."""
        self._start_server()

    def stop(self) -> None:
        try:
            self._run("pg_ctl stop", [_binary("pg_ctl"), "-D", str(self.data), "-m", "fast",
                                      "-w", "stop"])  # fmt: skip
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _discard(self) -> None:
        """After a failed start: stop whatever did start, remove the directory."""
        if (self.data / "postmaster.pid").exists():
            # The start failure is the error worth reporting, not a failure to stop.
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl stop", [_binary("pg_ctl"), "-D", str(self.data), "-m",
                                          "immediate", "-w", "stop"])  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def _connect_admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        )

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        with self._connect_admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{name}"
