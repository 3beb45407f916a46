"""Real SPARQL stores for tests: Virtuoso Open Source (Debian's ``virtuoso-opensource``) on
loopback, in a temporary directory of its own.

:func:`virtuoso` writes a ``virtuoso.ini`` of its own (database, logs and HTTP root in the
temporary directory; HTTP and ISQL ports chosen free and bound to 127.0.0.1 only; the
settings digistrat needs, see docs/deploy.md), starts ``virtuoso-t +foreground`` in its own
process group (as ``nobody`` when the tests run as root), waits a bounded time for its
SPARQL endpoint, then through ISQL replaces the default ``dba`` password by a random one
and creates the one user that may write: a loader with the role ``SPARQL_UPDATE`` (what
``digistrat load --to …/sparql-graph-crud-auth`` logs in as, by HTTP digest). The anonymous
SPARQL user keeps Virtuoso's default: read only. On leaving, the server is stopped (TERM,
then KILL after a bounded wait) and the directory removed.

``make test-deps`` installs the package; without ``virtuoso-t`` the tests that
need it fail (in CI) or are skipped (elsewhere), saying why.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import free_port, running

VIRTUOSO = shutil.which("virtuoso-t")
ISQL = shutil.which("isql-vt")  # Virtuoso's own; not unixODBC's ``isql``
INSTALL = "make test-deps"


def require_virtuoso() -> None:
    """Skip (outside CI) or fail (in CI) when Virtuoso is not installed."""
    if VIRTUOSO and ISQL:
        return
    message = f"Virtuoso (virtuoso-t, isql-vt) is not installed: run {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class Virtuoso:
    """A running Virtuoso: its addresses and the loader's credentials."""

    base: str
    isql_port: int
    directory: Path
    dba_password: str
    loader_user: str
    loader_password: str
    started_s: float  # from launch until its SPARQL endpoint answered

    @property
    def sparql(self) -> str:
        """The SPARQL 1.1 query endpoint (anonymous, read only)."""
        return self.base + "/sparql"

    @property
    def graph_store(self) -> str:
        """The Graph Store Protocol endpoint that needs a login (HTTP digest)."""
        return self.base + "/sparql-graph-crud-auth"

    @property
    def graph_store_anonymous(self) -> str:
        """The Graph Store Protocol endpoint without a login (403 for writes here)."""
        return self.base + "/sparql-graph-crud"

    def isql(self, *statements: str, timeout_s: float = 30) -> str:
        """Run SQL statements as ``dba``; fails the test when one of them fails."""
        return isql(self.isql_port, "dba", self.dba_password, statements, timeout_s)

    def loader_env(self) -> dict[str, str]:
        """The environment ``digistrat load`` reads the loader's credentials from."""
        return {"DIGISTRAT_STORE_USER": self.loader_user,
                "DIGISTRAT_STORE_PASSWORD": self.loader_password}


def isql(port: int, user: str, password: str, statements: tuple[str, ...] | list[str],
         timeout_s: float = 30) -> str:
    """Run ``statements`` through ``isql-vt`` on loopback; its errors fail the test (isql
    exits 0 after a failed statement, so its output is read)."""
    assert ISQL is not None
    script = "".join(s.rstrip().rstrip(";") + ";\n" for s in statements)
    done = subprocess.run([ISQL, f"127.0.0.1:{port}", user, password, "VERBOSE=OFF",
                           "BANNER=OFF", "PROMPT=OFF"], input=script.encode(),
                          capture_output=True, timeout=timeout_s, check=False)
    output = (done.stdout + done.stderr).decode(errors="replace")
    if done.returncode != 0 or "*** Error" in output:
        pytest.fail(f"isql failed ({done.returncode}):\n{output[-2000:]}")
    return output


def virtuoso_ini(directory: Path, http_port: int, isql_port: int, *,
                 max_rows: int, timeout_s: int, buffers: int) -> str:
    """A ``virtuoso.ini`` for a test instance (the settings are explained in
    docs/deploy.md, "Virtuoso")."""
    d = directory
    return f"""\
[Database]
DatabaseFile       = {d}/virtuoso.db
ErrorLogFile       = {d}/virtuoso.log
LockFile           = {d}/virtuoso.lck
TransactionFile    = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
MaxCheckpointRemap = 2000
Striping           = 0
TempStorage        = TempDatabase

[TempDatabase]
DatabaseFile       = {d}/virtuoso-temp.db
TransactionFile    = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping           = 0

[Parameters]
ServerPort           = 127.0.0.1:{isql_port}
DisableUnixSocket    = 1
CaseMode             = 2
DirsAllowed          = {d}
AllowOSCalls         = 0
MaxClientConnections = 10
CheckpointInterval   = 60
NumberOfBuffers      = {buffers}
MaxDirtyBuffers      = {buffers * 3 // 5}
ThreadsPerQuery      = 2
MaxQueryMem          = 500M

[HTTPServer]
ServerPort           = 127.0.0.1:{http_port}
ServerRoot           = {d}/vsp
ServerThreads        = 10
MaxClientConnections = 10
MaxKeepAlives        = 10
KeepAliveTimeout     = 10
EnabledDavVSP        = 0
Charset              = UTF-8

[SPARQL]
ResultSetMaxRows      = {max_rows}
MaxQueryExecutionTime = {timeout_s}
"""


def as_nobody(command: list[str], directory: Path) -> list[str]:
    """``command`` run as ``nobody`` when the tests run as root (the tests' user may be root
    in CI containers), owning ``directory`` and what it holds."""
    if os.geteuid() != 0:
        return command
    nobody = pwd.getpwnam("nobody")
    for path in (directory, *directory.iterdir()):
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
            "--clear-groups", *command]


@contextlib.contextmanager
def virtuoso(*, max_rows: int = 1_000_000, timeout_s: int = 30, buffers: int = 10_000,
             ready_seconds: float = 90) -> Iterator[Virtuoso]:
    """A fresh Virtuoso on loopback in a temporary directory, for the ``with`` block.

    ``max_rows`` and ``timeout_s`` become ``[SPARQL] ResultSetMaxRows`` and
    ``MaxQueryExecutionTime``; ``buffers`` ``[Parameters] NumberOfBuffers`` (8 KB pages held
    in memory; three fifths of them may be dirty)."""
    require_virtuoso()
    assert VIRTUOSO is not None
    directory = Path(tempfile.mkdtemp(prefix="digistrat-virtuoso-"))
    try:
        (directory / "vsp").mkdir()
        http_port, isql_port = free_port(), free_port()
        while isql_port == http_port:
            isql_port = free_port()
        ini = directory / "virtuoso.ini"
        ini.write_text(virtuoso_ini(directory, http_port, isql_port, max_rows=max_rows,
                                    timeout_s=timeout_s, buffers=buffers), encoding="utf-8")
        command = as_nobody([VIRTUOSO, "+foreground", "+configfile", str(ini)], directory)
        base = f"http://127.0.0.1:{http_port}"
        started = time.monotonic()
        with running(command, base + "/sparql?query=ASK%7B%7D", ready_seconds=ready_seconds,
                     cwd=directory):
            started_s = time.monotonic() - started
            dba_password = secrets.token_hex(16)
            loader = "digistrat_loader"
            loader_password = secrets.token_hex(16)
            # the fresh database's dba password is "dba": replace it first
            isql(isql_port, "dba", "dba",
                 [f"USER_CHANGE_PASSWORD('dba', 'dba', '{dba_password}')"])
            isql(isql_port, "dba", dba_password, [
                f"DB.DBA.USER_CREATE('{loader}', '{loader_password}')",
                f'GRANT SPARQL_UPDATE TO "{loader}"'])
            yield Virtuoso(base, isql_port, directory, dba_password, loader,
                           loader_password, started_s)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    """``python tests/stores.py``: start a Virtuoso, fill it with ``digistrat load`` and say
    how long each step took (the figures in docs/deploy.md)."""
    import sys

    digistrat = Path(sys.executable).parent / "digistrat"
    root = Path(__file__).resolve().parent.parent
    launched = time.monotonic()
    with virtuoso() as server:
        secured = time.monotonic() - launched
        print(f"virtuoso-t: SPARQL endpoint up after {server.started_s:.1f} s, "
              f"dba password replaced and loader created after {secured:.1f} s")
        for round_ in ("first load", "reload (PUT replaces)"):
            started = time.monotonic()
            done = subprocess.run([str(digistrat), "load", "--root", str(root), "-q", "--to",
                                   server.graph_store], env={**os.environ, **server.loader_env()},
                                  capture_output=True, text=True, timeout=600, check=False)
            print(f"{round_}: {time.monotonic() - started:.1f} s  {done.stdout.strip()}"
                  f"{done.stderr.strip()}")
        stopping = time.monotonic()
    print(f"stopped and removed in {time.monotonic() - stopping:.1f} s")


if __name__ == "__main__":
    main()
