"""``airflow-policies init`` and ``airflow-policies library``: a platform team's policy repository on the
shipped library (``docs/policy-repository.md``).

``init`` writes a repository pinned on the installed library. ``library path`` puts that library on disk for
plain ``opa test``; ``library check`` says whether the installed library is the pinned one; ``library vendor``
writes a locked copy into a folder; ``library upgrade`` shows what the installed library changes against the
pin, runs the repository's tests and suites on it, and re-pins when they pass.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from airflow_policies.commands.authoring import run_policy_tests
from airflow_policies.commands.common import EXIT_OK, EXIT_REJECTED, Subcommands
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.library import cached_library, installed_library, vendor_library
from airflow_policies.policy.repository import (
    PIN_FILE,
    PolicyRepository,
    PolicySources,
    find_repository,
    library_changes,
    library_drift,
    pin_library,
    policy_sources,
    write_config,
)
from airflow_policies.policy.rollout import load_rollout
from airflow_policies.policy.scaffold import init_repository

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add the parsers of ``init`` and ``library``."""
    init = commands.add_parser("init", help="start a policy repository that extends the shipped rule library")
    init.add_argument("directory", type=Path, nargs="?", default=Path("."), help="new or empty folder (default: .)")
    init.set_defaults(handler=_run_init)

    library = commands.add_parser("library", help="the shipped rule library a policy repository builds on")
    actions = library.add_subparsers(dest="library_command", required=True)
    actions.add_parser(
        "path", help='print the path of the library (for: opa test "$(airflow-policies library path)" rego)'
    )
    actions.add_parser("check", help="exit 2 unless the installed library is the one the repository pins")
    vendor = actions.add_parser("vendor", help="write a copy of the library, with its library.lock, into a folder")
    vendor.add_argument("directory", type=Path)
    upgrade = actions.add_parser(
        "upgrade", help="show what the installed library changes, run the repository's suites on it, re-pin it"
    )
    upgrade.add_argument("--dry-run", action="store_true", help="show and test, do not re-pin")
    upgrade.add_argument("--min-coverage", type=float, default=95.0, help="per policy file, in percent (default: 95)")
    upgrade.add_argument("--no-wasm", action="store_true", help="skip the Rego tests on the Wasm target")
    library.set_defaults(handler=_run_library)


def _run_init(args: argparse.Namespace) -> int:
    written = init_repository(args.directory)
    for path in written:
        print(path)
    print(
        f"next: cd {args.directory}; airflow-policies new-rule FAMILY.RULE; airflow-policies golden; "
        "airflow-policies test (see README.md)"
    )
    return EXIT_OK


def _repository() -> PolicyRepository:
    repository = find_repository(Path.cwd())
    if repository is None:
        raise ConfigurationError(
            f"not in a policy repository (no {PIN_FILE} here or above): run airflow-policies init first"
        )
    return repository


def _run_library(args: argparse.Namespace) -> int:
    command: str = args.library_command
    if command == "path":
        # policy_sources refuses a library the repository does not pin; outside one, the installed library.
        print(policy_sources(None).library if find_repository(Path.cwd()) else cached_library())
        return EXIT_OK
    if command == "check":
        repository = _repository()
        installed = installed_library()
        drift = library_drift(repository, installed)
        if drift is not None:
            raise ConfigurationError(drift)
        print(
            f"{repository.root / PIN_FILE}: the installed library is the pinned one "
            f"({installed.version}, {installed.digest})"
        )
        return EXIT_OK
    if command == "vendor":
        if find_repository(Path.cwd()) is not None:
            policy_sources(None)  # refuses to vendor a library the repository does not pin
        release = vendor_library(args.directory)
        print(f"{args.directory}: the rule library of airflow-policies {release.version} ({release.digest})")
        return EXIT_OK
    return _upgrade(args, _repository())


def _upgrade(args: argparse.Namespace, repository: PolicyRepository) -> int:
    pinned = repository.config.library
    installed = installed_library()
    if library_drift(repository, installed) is None:
        print(f"the installed library is the pinned one ({installed.version}, {installed.digest}): nothing to upgrade")
        return EXIT_OK
    new_pin = pin_library(installed)
    print(f"library: {pinned.version} ({pinned.digest}) -> {installed.version} ({installed.digest})")
    changes = library_changes(pinned.rules, new_pin.rules)
    print("\n".join(f"  {line}" for line in changes) if changes else "  no rule added, removed or changed")
    sources = PolicySources(library=cached_library(installed), own=(repository.rego,))
    passed = True
    rollout = repository.path(repository.config.rollout)
    if rollout is not None and rollout.is_file():
        try:
            load_rollout(rollout, {d.id for d in sources.rule_declarations()})
            print(f"{rollout}: valid against the new library")
        except ConfigurationError as exc:
            print(f"{rollout}: {exc}")
            passed = False
    print("the repository's tests and suites on the new library:", flush=True)
    passed = run_policy_tests(sources, min_coverage=args.min_coverage, wasm=not args.no_wasm) and passed
    print(
        "on the DAGs already in Airflow: airflow-policies audit --rego "
        f"{repository.config.rego} --registry {repository.config.registry} --rollout {repository.config.rollout}"
    )
    if not passed:
        print(f"not re-pinned: fix the repository for the new library first ({PIN_FILE} is unchanged)")
        return EXIT_REJECTED
    if args.dry_run:
        print(f"dry run: {PIN_FILE} is unchanged")
        return EXIT_OK
    write_config(repository.root, repository.config.model_copy(update={"library": new_pin}))
    print(f"{repository.root / PIN_FILE}: pinned on {installed.version}; commit it for review")
    return EXIT_OK
