"""The policy repository: a platform team's own rules and data, built on a pinned release of the shipped library.

A repository is a folder with an ``airflow-policies.yaml`` (written by ``airflow-policies init``): the library
release it builds on (package version, digest of the library's files, and each shipped rule's kind and
action, so an upgrade shows what changed) and where its own things are (its rule directory, team layers,
registry and rollout). Every command that loads Rego asks :func:`policy_sources` what to load: inside a
repository, the pinned library plus the repository's own rules, refused when the installed library is not
the pinned one; elsewhere, one rule directory as before (the shipped library, or the ``--rego`` given).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_policies._files import read_yaml, validation_problems
from airflow_policies._paths import rego_library
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.library import LibraryRelease, cached_library, installed_library
from airflow_policies.policy.rule_index import RuleDeclaration, declared_rules

__all__ = [
    "PIN_FILE",
    "PinnedLibrary",
    "PinnedRule",
    "PolicyRepository",
    "PolicySources",
    "RepositoryConfig",
    "RepositoryFiles",
    "as_sources",
    "find_repository",
    "library_changes",
    "library_drift",
    "pin_library",
    "policy_sources",
    "rule_snapshot",
    "write_config",
]

#: The file that makes a folder a policy repository.
PIN_FILE = "airflow-policies.yaml"
_HEADER = """\
# The policy repository's pin on the shipped rule library and where its own rules and data are.
# Written by `airflow-policies init`, re-pinned by `airflow-policies library upgrade` (a reviewed change:
# its diff shows the library's rules added, removed and changed). Do not edit the library section by hand.
"""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PinnedRule(_Model):
    """What a shipped rule declared when the library was pinned."""

    kind: str
    action: str | None = Field(description="its default action (deny when null)")
    severity: str | None = None


class PinnedLibrary(_Model):
    """The library release the repository builds on."""

    version: str = Field(min_length=1, description="the airflow-policies package version")
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="sha256 of the library's files")
    rules: dict[str, PinnedRule] = Field(description="each shipped rule (and main's own findings), by id")


class RepositoryConfig(_Model):
    """Everything in ``airflow-policies.yaml``; paths are relative to the repository."""

    library: PinnedLibrary
    rego: str = Field(default="rego", min_length=1, description="the repository's own rule directory")
    team_rules: str | None = Field(default="team_rules", description="directory of team layers (<team>/*.rego)")
    registry: str | None = Field(default="registry.yaml", description="the team registry")
    rollout: str | None = Field(default="rollout.yaml", description="the rollout file")


@dataclass(frozen=True)
class PolicyRepository:
    """A policy repository on disk."""

    root: Path
    config: RepositoryConfig

    def path(self, relative: str | None) -> Path | None:
        """A path of the configuration, resolved against the repository (None stays None)."""
        return None if relative is None else self.root / relative

    @property
    def rego(self) -> Path:
        """The repository's own rule directory."""
        return self.root / self.config.rego

    def existing(self, relative: str | None) -> Path | None:
        """A path of the configuration if it exists."""
        path = self.path(relative)
        return path if path is not None and path.exists() else None

    def data_files(self) -> RepositoryFiles:
        """The registry, rollout and team layers the repository has: the defaults of bundle build and check."""
        config = self.config
        return RepositoryFiles(
            registry=self.existing(config.registry),
            rollout=self.existing(config.rollout),
            team_rules=self.existing(config.team_rules),
        )


@dataclass(frozen=True)
class RepositoryFiles:
    """A policy repository's registry, rollout and team layers (None: it has none, or there is no repository)."""

    registry: Path | None = None
    rollout: Path | None = None
    team_rules: Path | None = None


@dataclass(frozen=True)
class PolicySources:
    """The Rego a command loads: a library (the pinned shipped one, or a rule directory standing in for it) and
    the repository's own rule directories (none outside a repository)."""

    library: Path
    own: tuple[Path, ...] = ()

    @property
    def dirs(self) -> list[Path]:
        """Every directory to load, library first."""
        return [self.library, *self.own]

    @property
    def authored(self) -> list[Path]:
        """The directories whose rules the author is responsible for: their tests' coverage is gated, their
        sample suites run. The repository's own in a repository, the library itself outside one."""
        return list(self.own) or [self.library]

    def rule_declarations(self) -> tuple[RuleDeclaration, ...]:
        """Every rule declared in any of the directories."""
        return tuple(sorted({d for rego in self.dirs for d in declared_rules(rego.resolve())}, key=lambda d: d.id))


def as_sources(rego: Path | PolicySources | None) -> PolicySources:
    """The sources a rule directory stands for (alone), or the shipped library's when None."""
    if isinstance(rego, PolicySources):
        return rego
    return PolicySources(library=rego or rego_library())


def find_repository(start: Path) -> PolicyRepository | None:
    """The repository ``start`` is in (the nearest folder at or above it with an ``airflow-policies.yaml``).

    Raises:
        ConfigurationError: that file is malformed.
    """
    for folder in [start.resolve(), *start.resolve().parents]:
        path = folder / PIN_FILE
        if path.is_file():
            try:
                config = RepositoryConfig.model_validate(read_yaml(path, "policy repository file"))
            except ValidationError as exc:
                raise ConfigurationError(f"{path} is invalid: {validation_problems(exc)}") from None
            return PolicyRepository(folder, config)
    return None


def rule_snapshot(rego: Path) -> dict[str, PinnedRule]:
    """What each rule of the rule directory ``rego`` declares, by id, as a pin records it."""
    return {d.id: PinnedRule(kind=d.kind, action=d.action, severity=d.severity) for d in declared_rules(rego.resolve())}


def pin_library(release: LibraryRelease) -> PinnedLibrary:
    """The pin of a library release."""
    return PinnedLibrary(version=release.version, digest=release.digest, rules=rule_snapshot(cached_library(release)))


def write_config(root: Path, config: RepositoryConfig) -> Path:
    """Write ``airflow-policies.yaml`` into ``root``."""
    path = root / PIN_FILE
    body = yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, width=110)
    path.write_text(_HEADER + body)
    return path


def library_drift(repository: PolicyRepository, installed: LibraryRelease) -> str | None:
    """Why the installed library is not the one the repository pins, with the fix; None when it is."""
    pinned = repository.config.library
    if pinned.digest == installed.digest:
        return None
    return (
        f"{repository.root / PIN_FILE} pins the rule library of airflow-policies {pinned.version} "
        f"({pinned.digest[:19]}), but the installed one is {installed.version} ({installed.digest[:19]}): install "
        f"airflow-policies=={pinned.version}, or review the new library with `airflow-policies library upgrade "
        "--dry-run` and re-pin it with `airflow-policies library upgrade`"
    )


def library_changes(pinned: dict[str, PinnedRule], current: dict[str, PinnedRule]) -> list[str]:
    """What a new library changes in its rules, one line each: added, removed, and a kind, default action or
    severity changed."""
    lines = [
        f"added    {rule}: {current[rule].kind}, {current[rule].action or 'deny'}"
        for rule in sorted(current.keys() - pinned.keys())
    ]
    lines += [f"removed  {rule}" for rule in sorted(pinned.keys() - current.keys())]
    for rule in sorted(pinned.keys() & current.keys()):
        before, after = pinned[rule], current[rule]
        changed = [
            f"{field} {getattr(before, field)} -> {getattr(after, field)}"
            for field in ("kind", "action", "severity")
            if getattr(before, field) != getattr(after, field)
        ]
        if changed:
            lines.append(f"changed  {rule}: {', '.join(changed)}")
    return lines


def _overlaps(library: Path, own: Path) -> list[str]:
    """The repository's rule folders that would merge into a library package instead of adding a rule."""
    problems = []
    for folder in sorted(p for p in (own / "airflow_policies").glob("*") if p.is_dir()):
        if folder.name != "rules":
            problems.append(f"{folder}: a policy repository adds rules under airflow_policies/rules/ only")
    for rule in sorted((own / "airflow_policies" / "rules").glob("*/*/")):
        relative = rule.relative_to(own)
        if (library / relative).is_dir():
            problems.append(f"{rule}: the library already has the rule {rule.parent.name}.{rule.name}")
    return problems


def policy_sources(
    rego: Path | None,
    *,
    fallback: Path | None = None,
    start: Path | None = None,
    on_drift: Literal["refuse", "warn"] = "refuse",
) -> PolicySources:
    """What a command loads, given its ``--rego`` (None when not given).

    Inside a repository (found from ``--rego``'s parent, else from ``start``, default the working directory):
    the pinned library and ``--rego`` (default: the repository's rule directory). Elsewhere: ``--rego``, else
    ``fallback``, else the shipped library, alone.

    Raises:
        ConfigurationError: the installed library is not the pinned one (with ``on_drift="refuse"``; a warning
            on stderr with ``"warn"``), or a repository rule would merge into a library package.
    """
    repository = find_repository(rego.resolve().parent if rego is not None else (start or Path.cwd()))
    if repository is None:
        alone = rego or fallback or rego_library()
        if (alone / "airflow_policies" / "rules").is_dir() and not (alone / "airflow_policies" / "main").is_dir():
            # Rules written outside a repository (new-rule in an empty folder) would fail on undefined imports.
            raise ConfigurationError(
                f"{alone} holds rules but not the library they build on (no airflow_policies/main/), and no "
                f"{PIN_FILE} is here or above: run `airflow-policies init` in this folder (it keeps {alone}) so "
                "the installed library is loaded beside the rules (docs/policy-repository.md)"
            )
        return PolicySources(library=alone)
    installed = installed_library()
    drift = library_drift(repository, installed)
    if drift is not None:
        if on_drift == "refuse":
            raise ConfigurationError(drift)
        print(f"airflow-policies: warning: {drift}", file=sys.stderr)
    own = rego or repository.rego
    if not own.is_dir():
        raise ConfigurationError(f"the repository's rule directory {own} does not exist (see {PIN_FILE}: rego)")
    library = cached_library(installed)
    problems = _overlaps(library, own)
    if problems:
        raise ConfigurationError("refused: " + "; ".join(problems))
    return PolicySources(library=library, own=(own,))
