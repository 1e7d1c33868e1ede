"""Where a secret can be read from inside one process: its configuration, its environment, and the processes of
this host that the same Unix user may read.

Airflow resolves an option from ``AIRFLOW__<SECTION>__<KEY>``, its ``_CMD`` and ``_SECRET`` variants, then the
same three in ``airflow.cfg``; each of them hands the secret to whoever can read it, so each is a place here.
Nothing here returns a secret's value.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "OpaWrites",
    "ProcessSecrets",
    "command_line_passwords",
    "config_file",
    "configured",
    "foreign_process_secrets",
    "opa_writes",
    "secret_variable",
]

#: Variables whose value is a deployment secret wherever they appear (any team's section, any variant).
_SECRET_VARIABLE = re.compile(
    r"^(AIRFLOW__.*(SQL_ALCHEMY_CONN|JWT_SECRET|JWT_PRIVATE_KEY_PATH|FERNET_KEY|BROKER_URL|RESULT_BACKEND)"
    r"(_CMD|_SECRET)?|AIRFLOW_CONN_.+|AIRFLOW_VAR_.+)$"
)
#: A URL carrying a password (``scheme://user:password@host``): a broker, a database, a secrets backend.
_PASSWORD_URL = re.compile(rb"[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:[^\s/@]+@")
_VARIANTS = ("", "_cmd", "_secret")
#: What Airflow's task supervisor puts in place of the metadata DB's address (``block_orm_access``): no secret.
_BLOCKED = ("airflow-db-not-allowed:", "/bin/false", "db-access-blocked")


def _held(value: str | None) -> bool:
    return bool(value) and not str(value).startswith(_BLOCKED)


def secret_variable(name: str) -> bool:
    """Whether an environment variable of this name holds a deployment secret (or the way to get one)."""
    return bool(_SECRET_VARIABLE.match(name))


def config_file() -> Path:
    """The ``airflow.cfg`` this process's Airflow reads (``AIRFLOW_CONFIG``, else ``$AIRFLOW_HOME/airflow.cfg``)."""
    from airflow.configuration import AIRFLOW_CONFIG

    return Path(AIRFLOW_CONFIG)


def configured(section: str, key: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """Every place this process's Airflow could read ``[section] key`` from, other than its built-in default."""
    environ = os.environ if environ is None else environ
    places = [
        name
        for variant in _VARIANTS
        if _held(environ.get(name := f"AIRFLOW__{section.upper()}__{key.upper()}{variant.upper()}"))
    ]
    path = config_file()
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(path)
    except (OSError, configparser.Error):
        return places
    places += [
        f"{path} [{section}] {key}{variant}"
        for variant in _VARIANTS
        if parser.has_option(section, f"{key}{variant}") and _held(parser.get(section, f"{key}{variant}").strip())
    ]
    return places


@dataclass(frozen=True)
class ProcessSecrets:
    """Another process of this host whose environment this process can read, and the secrets it holds there."""

    pid: int
    command: str
    variables: tuple[str, ...]

    def describe(self) -> str:
        return f"/proc/{self.pid}/environ ({self.command}): {', '.join(self.variables)}"


def _processes() -> Iterator[Path]:
    own = os.getpid()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != own:
            yield entry


def _command(process: Path) -> str:
    try:
        return process.joinpath("comm").read_text().strip()
    except OSError:
        return "?"


def foreign_process_secrets(environ: Mapping[str, str] | None = None) -> list[ProcessSecrets]:
    """The processes whose environment this Unix user can read (as a task's or DAG file's code can) and which
    hold a secret this process does not hold itself: another component's, or another team's."""
    environ = os.environ if environ is None else environ
    found = []
    for process in _processes():
        try:
            raw = process.joinpath("environ").read_bytes()
        except OSError:  # another user's process (or gone): the kernel refuses the read
            continue
        held = []
        for entry in raw.split(b"\0"):
            name, _, value = entry.decode(errors="replace").partition("=")
            if _held(value) and secret_variable(name) and environ.get(name) != value:
                held.append(name)
        if held:
            found.append(ProcessSecrets(int(process.name), _command(process), tuple(sorted(set(held)))))
    return sorted(found, key=lambda p: p.pid)


def command_line_passwords() -> list[str]:
    """The processes of this host whose command line (readable by every user) holds a URL with a password."""
    found = []
    for process in _processes():
        try:
            cmdline = process.joinpath("cmdline").read_bytes()
        except OSError:
            continue
        if _PASSWORD_URL.search(cmdline):
            found.append(f"/proc/{process.name}/cmdline ({_command(process)})")
    return sorted(found)


@dataclass(frozen=True)
class OpaWrites:
    """What the OPA this process asks answered to a write that changes nothing."""

    accepted: bool | None  # None: it could not tell (unreachable, or an answer that says neither)
    answer: str
    reached: bool = True


def opa_writes(url: str, path: str, timeout: float = 2.0) -> OpaWrites:
    """Whether OPA would accept a write to ``data.<path>`` from this process, found without writing anything.

    A bundle whose manifest roots cover the path owns it (OPA refuses REST writes there); else an empty JSON
    Patch (no operation, so nothing changes either way) shows whether OPA's authorization refuses writes
    (401/403) or takes them.
    """
    import requests

    base = url.rstrip("/")
    try:
        bundles = requests.get(f"{base}/v1/data/system/bundles", timeout=timeout)
        if bundles.ok:
            for name, bundle in (bundles.json().get("result") or {}).items():
                roots = (bundle.get("manifest") or {}).get("roots")
                if roots is None or any(path == r or path.startswith(f"{r}/") or r == "" for r in roots):
                    return OpaWrites(False, f"bundle {name!r} owns data.{path}")
        response = requests.patch(f"{base}/v1/data/{path}", json=[], timeout=timeout)
    except (requests.RequestException, ValueError) as exc:
        return OpaWrites(None, f"unreachable: {type(exc).__name__}", reached=False)
    answer = f"PATCH /v1/data/{path} (an empty patch) -> {response.status_code}"
    if response.ok:
        return OpaWrites(True, answer)
    if response.status_code in (401, 403):
        return OpaWrites(False, answer)
    return OpaWrites(None, f"{answer}: {response.text[:200]}")
