"""The servers this tool starts itself on loopback (OPA, PostgreSQL, Redis, Airflow's API server): their ports,
and stopping them."""

from __future__ import annotations

import socket
import subprocess

__all__ = ["accepts", "free_loopback_port", "stop"]


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this tool started: SIGTERM, and SIGKILL if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port`` (a server this tool started is up)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
