"""The ``airflow-policies`` command line.

Exit codes: 0 nothing rejected (warnings, dry runs and exceptions do not count), 1 something rejected /
undecidable (fail closed) / failed to import, 2 usage or configuration error.

Each command lives in its own module of :mod:`airflow_policies.commands`, which adds its parser and
handles it; this module only builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from airflow_policies.commands import (
    audit,
    authoring,
    bundle,
    check,
    demo,
    doctor,
    repository,
    routes,
    rules,
    schema,
    sync,
)
from airflow_policies.commands.common import EXIT_REJECTED, EXIT_USAGE
from airflow_policies.exceptions import ConfigurationError, PolicyError

__all__ = ["main"]

# In the order ``--help`` lists them.
_COMMANDS = (check, audit, doctor, sync, bundle, schema, rules, routes, authoring, repository, demo)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-policies", description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for command in _COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``airflow-policies`` command."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ConfigurationError as exc:
        print(f"airflow-policies: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyError as exc:
        print(f"airflow-policies: {exc}", file=sys.stderr)
        return EXIT_REJECTED


if __name__ == "__main__":
    sys.exit(main())
