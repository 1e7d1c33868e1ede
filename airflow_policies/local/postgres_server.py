"""A private PostgreSQL server on loopback, for tests and benchmarks that need a real metadata DB.

The cluster lives in a temporary directory and listens on a free 127.0.0.1 port; it takes only its own
generated password (scram-sha-256), since every local user can find the port on its command line, and it is
stopped and deleted when the context ends. PostgreSQL refuses to run as root, so
under root it runs as the ``postgres`` user (``scripts/install-postgres.sh`` makes sure it exists).
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from airflow_policies._paths import postgres_bin
from airflow_policies.local.net import free_loopback_port

__all__ = ["local_postgres"]


@contextmanager
def local_postgres(database: str = "airflow") -> Iterator[str]:
    """Start PostgreSQL, create ``database``, and yield its SQLAlchemy URL (psycopg2 driver)."""
    bin_dir = postgres_bin()
    workdir = Path(tempfile.mkdtemp(prefix="airflow-policies-pg-"))
    data, sockets, log = workdir / "data", workdir / "sockets", workdir / "postgres.log"
    sockets.mkdir()
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        os.chown(sockets, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port, password = free_loopback_port(), secrets.token_hex(16)
    password_file = workdir / "password"
    password_file.write_text(password)
    if prefix:
        os.chown(password_file, user.pw_uid, user.pw_gid)
    os.chmod(password_file, 0o600)

    def run(*command: str) -> None:
        environment = {**os.environ, "PGPASSWORD": password}
        result = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, env=environment)
        if result.returncode != 0:
            logged = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(command[0]).name} failed: {result.stderr[-2000:]}{logged}")

    try:
        run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "scram-sha-256",
            f"--pwfile={password_file}", "-E", "UTF8", "--no-sync")  # fmt: skip
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=200"
        run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start")
        run(str(bin_dir / "psql") if (bin_dir / "psql").exists() else "psql", "-h", "127.0.0.1", "-p", str(port),
            "-U", "postgres", "-c", f"CREATE DATABASE {database}")  # fmt: skip
        yield f"postgresql+psycopg2://postgres:{password}@127.0.0.1:{port}/{database}"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(workdir, ignore_errors=True)
