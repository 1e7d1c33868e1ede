"""The shipped rule library as a policy repository builds on it: which files, their digest, a copy on disk.

A platform team's policy repository extends the library instead of forking it. What it builds on is every
rule file of the library (``lib``, ``main`` and the shipped rules) without the library's own tests, which
are the library's CI and would see the platform's rules as unexpected findings in their fixtures, plus the
Rego tests' fixtures (``lib/fixtures``), which the repository's own tests import. That set of files, named
by a digest, is what a repository pins (:mod:`airflow_policies.policy.repository`) and what
``airflow-policies library path`` puts on disk, so that ``opa test "$(airflow-policies library path)" rego``
runs the repository's tests, and only those, with the library on the load path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_policies._files import read_yaml, validation_problems
from airflow_policies._paths import rego_library
from airflow_policies.exceptions import ConfigurationError

__all__ = [
    "LOCK_FILE",
    "LibraryLock",
    "LibraryRelease",
    "cached_library",
    "installed_library",
    "library_digest",
    "library_files",
    "read_lock",
    "vendor_library",
]

#: The one test file a repository's tests need: the input builders and the fixture registry.
_FIXTURES = "airflow_policies/lib/fixtures/fixtures_test.rego"
#: Written beside a copy of the library. Not ``.json``/``.yaml``: ``opa test`` would load those as data.
LOCK_FILE = "library.lock"
_DIGEST = r"^sha256:[0-9a-f]{64}$"


class LibraryLock(BaseModel):
    """What a copy of the library on disk is a copy of (its ``library.lock``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1, description="the airflow-policies package version the library shipped in")
    digest: str = Field(pattern=_DIGEST, description="sha256 of the library's files (library_digest)")


@dataclass(frozen=True)
class LibraryRelease:
    """The library this installation ships: its package version, its digest and where it is."""

    version: str
    digest: str
    rego: Path


def library_files(rego: Path) -> dict[str, bytes]:
    """The library's files under the rule directory ``rego``, by path relative to it: every ``.rego`` file
    under ``airflow_policies/`` but the tests, and the fixtures the tests of a repository import.

    Raises:
        ConfigurationError: ``rego`` holds no ``airflow_policies`` library.
    """
    root = rego / "airflow_policies"
    if not (root / "main").is_dir():
        raise ConfigurationError(f"{rego} holds no airflow-policies rule library (no airflow_policies/main/ in it)")
    files = {}
    for path in sorted(root.rglob("*.rego")):
        relative = path.relative_to(rego).as_posix()
        if "/samples/" in relative or (relative.endswith("_test.rego") and relative != _FIXTURES):
            continue
        files[relative] = path.read_bytes()
    return files


def library_digest(files: dict[str, bytes]) -> str:
    """``sha256:`` over the files' relative paths and contents, in path order."""
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0" + files[relative] + b"\0")
    return f"sha256:{digest.hexdigest()}"


def _package_version() -> str:
    try:
        return version("airflow-policies")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0+unknown"


def installed_library() -> LibraryRelease:
    """The library of this installation (the wheel's, or the checkout's ``rego/``)."""
    rego = rego_library()
    return LibraryRelease(version=_package_version(), digest=library_digest(library_files(rego)), rego=rego)


def read_lock(folder: Path) -> LibraryLock:
    """The ``library.lock`` of a copy of the library.

    Raises:
        ConfigurationError: there is none, or it is malformed.
    """
    path = folder / LOCK_FILE
    if not path.is_file():
        raise ConfigurationError(f"{folder} is not a copy of the library: it has no {LOCK_FILE}")
    try:
        return LibraryLock.model_validate(read_yaml(path, "library lock"))
    except ValidationError as exc:
        raise ConfigurationError(f"library lock {path} is invalid: {validation_problems(exc)}") from None


def _write_copy(target: Path, release: LibraryRelease) -> None:
    for relative, content in library_files(release.rego).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(content)
    (target / LOCK_FILE).write_text(f"version: {release.version!r}\ndigest: {release.digest}\n")


def _intact(folder: Path, release: LibraryRelease) -> bool:
    """Whether ``folder`` holds exactly ``release``'s files, unedited, with its lock."""
    try:
        lock = read_lock(folder)
        files = library_files(folder)
    except ConfigurationError:
        return False
    return lock == LibraryLock(version=release.version, digest=release.digest) and library_digest(files) == lock.digest


def _cache_root() -> Path:
    configured = os.environ.get("AIRFLOW_POLICIES_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airflow-policies"


def cached_library(release: LibraryRelease | None = None) -> Path:
    """A copy of the library (default: the installed one) in the user's cache, written if missing or edited;
    its path names the version and digest, so two releases never share one.

    The cache is ``$AIRFLOW_POLICIES_CACHE_DIR``, else ``$XDG_CACHE_HOME/airflow-policies``, else
    ``~/.cache/airflow-policies``.
    """
    release = release or installed_library()
    folder = _cache_root() / "library" / f"{release.version}-{release.digest.removeprefix('sha256:')[:16]}"
    if _intact(folder, release):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Written beside its final place and renamed into it, so a concurrent reader never sees half a copy.
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=folder.parent))
    try:
        _write_copy(staging, release)
        shutil.rmtree(folder, ignore_errors=True)
        staging.rename(folder)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not _intact(folder, release):  # not another process's copy, finished first
            raise
    return folder


def vendor_library(target: Path, release: LibraryRelease | None = None) -> LibraryRelease:
    """Write a copy of the library (default: the installed one) with its ``library.lock`` into ``target``,
    replacing an earlier copy there; return what was written.

    Raises:
        ConfigurationError: ``target`` holds anything but an earlier copy of the library (nothing is touched).
    """
    release = release or installed_library()
    if target.exists() and any(target.iterdir()):
        if not (target / LOCK_FILE).is_file():
            raise ConfigurationError(
                f"{target} is not empty and is not a copy of the library (no {LOCK_FILE}): vendor into an empty "
                "or new folder"
            )
        read_lock(target)  # a malformed lock is refused, not overwritten
        shutil.rmtree(target / "airflow_policies", ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    _write_copy(target, release)
    return release
