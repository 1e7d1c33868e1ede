"""A private Redis server on loopback, the Celery broker of one team in the per-team Celery deployment.

Each server lives in a temporary directory, listens on a free 127.0.0.1 port, keeps nothing on disk, and
requires its own password, so a process holding one team's broker URL cannot read or publish to another
team's broker. It is stopped and deleted when the context ends. ``scripts/install-redis.sh`` installs
Debian's ``redis-server``.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from airflow_policies.exceptions import ConfigurationError
from airflow_policies.local.net import free_loopback_port, stop

__all__ = ["local_redis"]

_START_SECONDS = 30


@contextmanager
def local_redis() -> Iterator[str]:
    """Start Redis and yield its URL (``redis://:<password>@127.0.0.1:<port>``, no database number)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ConfigurationError("no redis-server found: run scripts/install-redis.sh")
    workdir = Path(tempfile.mkdtemp(prefix="airflow-policies-redis-"))
    port, password = free_loopback_port(), secrets.token_hex(16)
    config = workdir / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                f"dir {workdir}",
                'save ""',
                "appendonly no",
                "protected-mode yes",
                f"requirepass {password}",
                f"logfile {workdir / 'redis.log'}",
            ]
        )
        + "\n"
    )
    process = subprocess.Popen([binary, str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"redis://:{password}@127.0.0.1:{port}"
    try:
        _wait_until_ready(process, url, workdir)
        yield url
    finally:
        stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, workdir: Path) -> None:
    import redis

    deadline = time.monotonic() + _START_SECONDS
    while True:
        if process.poll() is not None:
            log = (workdir / "redis.log").read_text()[-2000:] if (workdir / "redis.log").exists() else ""
            raise RuntimeError(f"redis-server exited {process.returncode}: {log}")
        try:
            if redis.Redis.from_url(url, socket_timeout=1).ping():
                return
        except redis.exceptions.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"redis-server did not answer within {_START_SECONDS}s")
        time.sleep(0.1)
