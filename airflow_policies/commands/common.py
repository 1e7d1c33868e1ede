"""What ``check`` and ``audit`` share: the OPA they ask, progress on stderr, the report in the chosen format."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, TypeAlias

from airflow_policies.commands.formats import FORMATS, render, render_diff, render_text
from airflow_policies.commands.report import CheckReport
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.repository import (
    PolicyRepository,
    PolicySources,
    RepositoryFiles,
    find_repository,
    policy_sources,
)
from airflow_policies.policy.rollout import parse_days

__all__ = [
    "EXIT_OK",
    "EXIT_REJECTED",
    "EXIT_USAGE",
    "Subcommands",
    "command_repository",
    "command_sources",
    "days",
    "opa_for_command",
    "print_report",
    "progress",
    "repository_files",
]

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
_PROGRESS_MIN_FILES = 20

#: What every command module's ``register`` adds its parser to.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def days(text: str) -> int:
    """An argparse type: a number of days (``14``, ``14d``, ``2w``)."""
    try:
        return parse_days(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def command_repository(args: argparse.Namespace) -> PolicyRepository | None:
    """The policy repository a command runs in: found from its ``--rego``, else from the working directory."""
    rego: Path | None = getattr(args, "rego", None)
    return find_repository(rego.resolve().parent if rego is not None else Path.cwd())


def repository_files(args: argparse.Namespace) -> RepositoryFiles:
    """The registry, rollout and team layers of the policy repository the command runs in (none outside one)."""
    repository = command_repository(args)
    return repository.data_files() if repository is not None else RepositoryFiles()


def command_sources(args: argparse.Namespace, on_drift: Literal["refuse", "warn"] = "refuse") -> PolicySources:
    """The Rego a command loads for its ``--rego`` (see :func:`~airflow_policies.policy.repository.policy_sources`):
    in a policy repository, the pinned library and the repository's rules."""
    return policy_sources(getattr(args, "rego", None), on_drift=on_drift)


@contextlib.contextmanager
def opa_for_command(
    args: argparse.Namespace,
    settings_url: str | None,
    registry: Path | None,
    rollout: Path | None,
    team_rules: Path | None,
    *,
    on_drift: Literal["refuse", "warn"] = "refuse",
) -> Iterator[str]:
    """The OPA a command asks: ``--opa-url`` or the configured one, else a local OPA on ``registry`` with the
    command's sources (:func:`command_sources`)."""
    given: str | None = args.opa_url or settings_url
    if given:
        yield given
        return
    from airflow_policies.local.opa_server import local_opa

    if registry is None:
        raise ConfigurationError(
            "no OPA to ask: pass --opa-url (or set AIRFLOW__AIRFLOW_POLICIES__OPA_URL) to use a running OPA, "
            "or --registry FILE to start a local one with the shipped rules"
        )
    with local_opa(registry, command_sources(args, on_drift), rollout=rollout, team_rules=team_rules) as url:
        yield url


def progress(index: int, total: int, name: str, noun: str) -> None:
    """Progress on stderr: a live counter on a terminal, one line per tenth of the work in CI logs."""
    if sys.stderr.isatty():
        print(f"\r[{index}/{total}] {name[:60]:<60}", end="", file=sys.stderr, flush=True)
    elif total >= _PROGRESS_MIN_FILES and index % max(1, total // 10) == 0:
        # CI logs are not terminals: one line per tenth of the work.
        print(f"airflow-policies: checked {index}/{total} {noun}", file=sys.stderr, flush=True)


def print_report(args: argparse.Namespace, report: CheckReport, root: Path) -> None:
    """Print ``report`` on stdout in ``--format`` (text, or only the mutations with ``--diff``)."""
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    elif args.format in FORMATS:
        # Titles and remediations only: a library the repository does not pin is worth a warning here, not a refusal.
        declared = {d.id: d for d in command_sources(args, on_drift="warn").rule_declarations()}
        print(render(args.format, report, root, declared))
    elif getattr(args, "diff", False):
        print(render_diff(report))
    else:
        print(render_text(report))
