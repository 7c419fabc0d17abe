"""A throwaway PostgreSQL cluster from Debian's packages, for tests, benchmarks and the demo.

The shared backend's claims (durability, serialised writers, surviving a server restart) are only
worth something against a real server, so tests start one: ``initdb`` in a private directory,
``fsync=on``, TCP only on 127.0.0.1 with scram passwords, plus a unix socket in its own
directory for the superuser. As root the server runs as Debian's ``postgres`` user (initdb and
postgres refuse to run as root). Nothing is downloaded: the binaries come from the
``postgresql`` package (``./run`` installs it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from workprint.errors import WorkprintError
from workprint.testbed.ports import free_port
from workprint.testbed.process_tree import alive, children_of

PG_ROOT: Final = Path("/usr/lib/postgresql")
SERVICE_USER: Final = "postgres"
_START_TIMEOUT_S: Final = 60.0
_STOP_TIMEOUT_S: Final = 60.0
_LOG_TAIL_LINES: Final = 15


class PostgresServerError(WorkprintError):
    """The test server could not be set up, started or stopped; the message ends with the tail
    of its log when there is one."""


def find_bin_dir(root: Path = PG_ROOT) -> Path:
    """The ``bin`` directory of the newest PostgreSQL version installed under ``root``."""
    versions = sorted(
        (p for p in root.glob("*/bin") if (p / "postgres").is_file() and p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    if not versions:
        raise PostgresServerError(
            f"no PostgreSQL server under {root} (install Debian's postgresql package)"
        )
    return versions[-1]


class PostgresServer:
    """One private PostgreSQL cluster: a database ``workprint`` owned by a login role with a
    random password, reachable at ``url``. A context manager: ``__enter__`` creates and starts
    it, ``__exit__`` stops it and removes its directory."""

    def __init__(
        self,
        directory: Path | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        database: str = "workprint",
        user: str = "workprint",
        bin_dir: Path | None = None,
    ) -> None:
        self._given_dir = directory
        self._root: Path | None = None
        self.settings = dict(settings or {})
        self.database = database
        self.user = user
        self.password = secrets.token_urlsafe(18)
        self.admin_user = "wp_superuser"
        self.admin_password = secrets.token_urlsafe(18)
        self.port = 0
        self._bin_dir = bin_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._as_service_user = os.geteuid() == 0

    # paths ------------------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        if self._root is None:
            raise PostgresServerError("the PostgreSQL test server was not set up")
        return self._root

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    # addresses --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``postgresql://USER:PASS@127.0.0.1:PORT/DB`` for the application role."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def admin_url(self) -> str:
        """The superuser's URL (for ``CREATE EXTENSION``, statistics, fault injection)."""
        return (
            f"postgresql://{self.admin_user}:{self.admin_password}"
            f"@127.0.0.1:{self.port}/{self.database}"
        )

    @property
    def dsn_without_password(self) -> str:
        """What to name in messages and logs."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # lifecycle --------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        try:
            self.setup()
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def setup(self) -> None:
        """Create the directory and the cluster (``initdb``), with scram for TCP logins."""
        if self._root is not None:
            return
        bin_dir = self._bin_dir or find_bin_dir()
        self._bin_dir = bin_dir
        if self._given_dir is None:
            # /tmp, not a 0700 pytest directory: the postgres user must be able to reach it
            root = Path(tempfile.mkdtemp(prefix="workprint-pg-"))
        else:
            root = self._given_dir
            try:
                root.mkdir(parents=True, exist_ok=False, mode=0o700)
            except OSError as exc:
                raise PostgresServerError(
                    f"cannot create the server's directory {root}: {exc.strerror}"
                ) from None
        self._root = root
        self.socket_dir.mkdir(mode=0o700)
        pwfile = root / "superuser.pw"
        pwfile.write_text(self.admin_password + "\n")
        pwfile.chmod(0o600)
        self._hand_over(root)
        initdb = [str(bin_dir / "initdb"), "--pgdata", str(self.data_dir), "--encoding=UTF8"]
        initdb += ["--username", self.admin_user, "--pwfile", str(pwfile), "--locale=C"]
        # TCP logins need a scram password; the socket directory is the owner's alone (0700)
        initdb += ["--auth-host=scram-sha-256", "--auth-local=trust", "--no-instructions"]
        self._run(*initdb, what="initdb")
        pwfile.unlink()

    def start(self) -> None:
        """Start the postmaster and wait until it accepts connections; on the first start,
        create the application role and database."""
        if self.running:
            return
        if self._root is None:
            self.setup()
        first = self.port == 0
        for attempt in range(5):
            if first:
                self.port = free_port()
            try:
                self._start_once()
                break
            except PostgresServerError as exc:
                lost_race = "could not bind" in str(exc) or "already in use" in str(exc)
                if not (first and lost_race) or attempt == 4:
                    raise
        if first:
            self._create_role_and_database()

    def _start_once(self) -> None:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.socket_dir),
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
            "password_encryption": "scram-sha-256",
            "max_connections": "200",
            "logging_collector": "off",
            **self.settings,
        }
        args = [str(self._bin("postgres")), "-D", str(self.data_dir)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                self._as_owner(args),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the test's terminal is not the server's
            )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._accepting():
            if self._process.poll() is not None:
                self._process = None
                raise PostgresServerError(f"PostgreSQL did not start{self._log_tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise PostgresServerError(
                    f"PostgreSQL did not accept connections within {_START_TIMEOUT_S:.0f} s"
                    f"{self._log_tail()}"
                )
            time.sleep(0.05)

    def _accepting(self) -> bool:
        probe = [str(self._bin("pg_isready")), "-q", "-h", str(self.socket_dir)]
        probe += ["-p", str(self.port), "-d", "postgres", "-U", self.admin_user]
        done = subprocess.run(probe, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        return done.returncode == 0

    def _create_role_and_database(self) -> None:
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(
                host=str(self.socket_dir),
                port=self.port,
                dbname="postgres",
                user=self.admin_user,
                autocommit=True,
                connect_timeout=10,
            ) as conn:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                        sql.Identifier(self.user), sql.Literal(self.password)
                    )
                )
                # CHECKPOINT after an erasure (PostgresDatabase.scrub) needs this predefined role
                conn.execute(sql.SQL("GRANT pg_checkpoint TO {}").format(sql.Identifier(self.user)))
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.database), sql.Identifier(self.user)
                    )
                )
        except psycopg.Error as exc:
            raise PostgresServerError(
                f"cannot create the test role and database: {' '.join(str(exc).split())}"
            ) from None

    def stop(self) -> None:
        """Fast shutdown: connected clients are disconnected, then a clean checkpoint."""
        self._signal_and_wait(signal.SIGINT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """Crash the server: SIGKILL the postmaster and every process it started (as when the
        host loses power, minus the disk cache: what was fsync'd must survive)."""
        pid = self._postmaster_pid()
        if pid is None:
            self._reap()
            return
        try:
            os.kill(pid, signal.SIGSTOP)  # no new backends while we list its children
        except ProcessLookupError:
            self._reap()
            return
        children = children_of(pid)
        for victim in (pid, *children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        if self._process is not None:
            # runuser stops itself when its child is stopped (job control, as su does)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._process.pid, signal.SIGCONT)
        self._reap()
        deadline = time.monotonic() + _STOP_TIMEOUT_S
        while any(alive(child) for child in children):
            if time.monotonic() > deadline:
                raise PostgresServerError("PostgreSQL backends outlived their killed postmaster")
            time.sleep(0.02)

    def cleanup(self) -> None:
        """Stop the server (killing it if it will not stop) and remove its directory."""
        try:
            if self.running:
                try:
                    self.stop()
                except PostgresServerError:
                    self.kill()
        finally:
            if self._root is not None:
                shutil.rmtree(self._root, ignore_errors=True)
                self._root = None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the server log (for failure messages)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except (OSError, PostgresServerError):
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # helpers ----------------------------------------------------------------------------------
    def _signal_and_wait(self, sig: signal.Signals) -> None:
        if not self.running:
            self._process = None
            return
        pid = self._postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        try:
            self._reap(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise PostgresServerError(
                f"PostgreSQL did not stop within {_STOP_TIMEOUT_S:.0f} s{self._log_tail()}"
            ) from None

    def _reap(self, timeout: float = _STOP_TIMEOUT_S) -> None:
        if self._process is not None:
            self._process.wait(timeout=timeout)
            self._process = None

    def _postmaster_pid(self) -> int | None:
        """The postmaster's pid from ``postmaster.pid`` (under runuser the child we started is
        runuser, not the postmaster)."""
        try:
            first = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first)
        except (OSError, ValueError):
            return None

    def _bin(self, name: str) -> Path:
        return (self._bin_dir or find_bin_dir()) / name

    def _as_owner(self, args: list[str]) -> list[str]:
        if self._as_service_user:
            return ["runuser", "-u", SERVICE_USER, "--", *args]
        return args

    def _hand_over(self, root: Path) -> None:
        """As root, give the cluster's directory to the service user (postgres refuses root)."""
        if not self._as_service_user:
            return
        try:
            shutil.chown(root, SERVICE_USER, SERVICE_USER)
            for path in root.rglob("*"):
                shutil.chown(path, SERVICE_USER, SERVICE_USER)
        except (LookupError, OSError) as exc:
            raise PostgresServerError(
                f"cannot hand {root} to the {SERVICE_USER!r} user ({exc}); is Debian's"
                " postgresql package installed?"
            ) from None
        parent = root.parent
        while parent != parent.parent:
            if not os.stat(parent).st_mode & 0o001:
                raise PostgresServerError(
                    f"{parent} is not traversable by the {SERVICE_USER!r} user; put the"
                    " server's directory elsewhere (for example under /tmp)"
                )
            parent = parent.parent

    def _run(self, *args: str, what: str) -> None:
        result = subprocess.run(
            self._as_owner(list(args)),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-8:])
            raise PostgresServerError(f"{what} failed (exit {result.returncode}):\n{tail}")

    def _log_tail(self) -> str:
        tail = self.log_tail()
        return f"; server log ({self.log_path}) ends:\n{tail}" if tail else ""
