"""``airflow-policies rules``: the rule index (``docs/rules.md``) generated from the rules' METADATA."""

from __future__ import annotations

import argparse
from pathlib import Path

from airflow_policies.commands.common import (
    EXIT_OK,
    Subcommands,
    command_sources,
)
from airflow_policies.policy.rule_index import render_rule_index

__all__ = ["register"]


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    rules = commands.add_parser("rules", help="write the rule index generated from the rules' METADATA")
    rules.add_argument(
        "--rego",
        type=Path,
        help="rule directory (default: the policy repository's, with the library; else the shipped library)",
    )
    rules.add_argument("--output", type=Path, help="file to write (default: stdout)")
    rules.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the rule index generated from the rules' METADATA."""
    # In a policy repository the index covers the library and the repository's own rules.
    index = render_rule_index(command_sources(args, on_drift="warn").rule_declarations())
    if args.output:
        args.output.write_text(index)
    else:
        print(index, end="")
    return EXIT_OK
