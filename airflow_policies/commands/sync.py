"""``airflow-policies sync``: take ownership from Airflow and merge it into the registry (docs/bundles.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests
import yaml

from airflow_policies._config import load_settings
from airflow_policies.commands.common import (
    EXIT_OK,
    EXIT_REJECTED,
    Subcommands,
)
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.registry import load_registry
from airflow_policies.policy.sync import merge, read_airflow_ownership, registry_diff

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    sync = commands.add_parser(
        "sync", help="merge ownership from Airflow (connections, variables, pools, executors) into the registry"
    )
    sync.add_argument("--registry", type=Path, required=True, help="the hand-written registry")
    sync.add_argument("--output", type=Path, help="write the merged registry here (default: stdout)")
    sync.add_argument("--dry-run", action="store_true", help="write nothing; print the diff against what OPA holds")
    sync.add_argument("--opa-url", help="the OPA the dry run compares with (default: the configured one)")
    sync.add_argument("--config", type=Path, help="deprecated YAML config file (use [airflow_policies] in airflow.cfg)")
    sync.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Merge Airflow's ownership into the registry; print or write it, or diff it against OPA."""
    result = merge(load_registry(args.registry), read_airflow_ownership())
    for note in result.notes:
        print(f"airflow-policies sync: note: {note}", file=sys.stderr)
    if result.conflicts:
        print(f"airflow-policies sync: {len(result.conflicts)} conflicts, nothing written:", file=sys.stderr)
        for conflict in result.conflicts:
            print(f"  {conflict.message}", file=sys.stderr)
        return EXIT_REJECTED
    merged = yaml.safe_dump(result.registry.as_data(), sort_keys=False)
    if args.dry_run:
        url = (args.opa_url or str(load_settings(args.config).opa_url)).rstrip("/")
        try:
            response = requests.get(f"{url}/v1/data/airflow_policies/registry", timeout=5)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ConfigurationError(f"cannot read the registry OPA at {url} holds: {exc}") from None
        diff = registry_diff(response.json().get("result"), result.registry)
        print("\n".join(diff) if diff else f"OPA at {url} already holds this registry")
        return EXIT_OK
    if args.output:
        args.output.write_text(merged)
        print(f"airflow-policies sync: wrote {args.output} ({len(result.added)} additions)", file=sys.stderr)
    else:
        print(merged, end="")
    return EXIT_OK
