"""A process as a machine of its own would run it, on this one host: its own Unix user, and a private view of the
directories that hide what it needs.

The sandbox's per-team Celery workers stand for workers on machines of their own. On one host that takes a Unix
user per team (the kernel then refuses each worker the environment of every other process, /proc/<pid>/environ,
and the files of the others), started by root. Other users may not traverse some directories on the way to what
a worker needs (a home at 0700 holding the Python, pytest's temporary directories); in a private mount namespace
each such directory is covered by an empty tmpfs where only the paths the worker needs are bound back, so the
worker reaches them and nothing else beside them. Requires root, ``unshare`` and ``setpriv`` (util-linux).
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path

from airflow_policies.exceptions import ConfigurationError

__all__ = ["as_own_user", "hidden_ancestor"]


def hidden_ancestor(path: Path) -> Path | None:
    """The topmost directory on the way to ``path`` that other users may not traverse (no ``o+x``), if any."""
    for ancestor in reversed(path.parents):
        if ancestor != Path("/") and not ancestor.stat().st_mode & stat.S_IXOTH:
            return ancestor
    return None


def as_own_user(command: Sequence[str], uid: int, needs: Iterable[Path], keep: Path) -> list[str]:
    """``command`` run as ``uid`` (its own group, no other), able to reach each path of ``needs``.

    Args:
        command: what to run.
        uid: the Unix user (and group) id; it needs no passwd entry.
        needs: paths the process must reach (its interpreter, code, home); each stays owned as it is.
        keep: an empty directory for the mount points of the bound paths (outside every hidden directory).

    Raises:
        ConfigurationError: not root, or ``unshare`` / ``setpriv`` missing.
    """
    if os.geteuid() != 0:
        raise ConfigurationError("running a process as its own Unix user needs root")
    missing = [tool for tool in ("unshare", "setpriv") if shutil.which(tool) is None]
    if missing:
        raise ConfigurationError(f"{', '.join(missing)} not found: install util-linux")
    resolved = sorted({Path(os.path.realpath(p)) for p in needs})
    hidden: dict[Path, list[Path]] = {}
    for path in resolved:
        ancestor = hidden_ancestor(path)
        if ancestor is not None:
            hidden.setdefault(ancestor, []).append(path)
    steps = []
    bound = [(path, keep / str(index)) for index, path in enumerate(p for paths in hidden.values() for p in paths)]
    for path, mount_point in bound:  # first keep each needed path where the tmpfs will not cover it
        mount_point.mkdir(parents=True, exist_ok=True)
        steps.append(f"mount --bind {shlex.quote(str(path))} {shlex.quote(str(mount_point))}")
    for ancestor in hidden:
        steps.append(f"mount -t tmpfs -o mode=755,size=1m tmpfs {shlex.quote(str(ancestor))}")
    for path, mount_point in bound:
        steps.append(f"mkdir -p {shlex.quote(str(path))}")
        steps.append(f"mount --bind {shlex.quote(str(mount_point))} {shlex.quote(str(path))}")
    drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]
    steps.append("exec " + shlex.join([*drop, *command]))
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-e", "-c", " && ".join(steps)]
