"""``airflow-policies schema``: the JSON schemas of every document that crosses a boundary (``schemas/``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pydantic import BaseModel

from airflow_policies.commands.common import (
    EXIT_OK,
    Subcommands,
)
from airflow_policies.commands.report import CheckReport
from airflow_policies.decision.models import Decision
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.document.models import InputDocument
from airflow_policies.enforcement.audit_log import RuntimeRefusal
from airflow_policies.policy.library import LibraryLock
from airflow_policies.policy.repository import RepositoryConfig
from airflow_policies.policy.rollout import Rollout
from airflow_policies.posture.models import PostureReport
from airflow_policies.ui.report import PolicyReport

__all__ = ["SCHEMAS", "register"]

#: Every document that crosses a boundary, by the name of its schema file (``<name>.schema.json``).
SCHEMAS: dict[str, type[BaseModel]] = {
    "input-document": InputDocument,
    "decision": Decision,
    "check-report": CheckReport,
    "decision-log": DecisionRecord,
    "rollout": Rollout,
    "policy-repository": RepositoryConfig,
    "library-lock": LibraryLock,
    "policy-report": PolicyReport,
    "posture-report": PostureReport,
    "runtime-refusal": RuntimeRefusal,
}


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    schema = commands.add_parser("schema", help="write the JSON schemas of every document that crosses a boundary")
    schema.add_argument("--output", type=Path, default=Path("schemas"))
    schema.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the JSON schema of every model that crosses a boundary."""
    args.output.mkdir(parents=True, exist_ok=True)
    for name, model in SCHEMAS.items():
        target = args.output / f"{name}.schema.json"
        target.write_text(json.dumps(model.model_json_schema(), indent=2, sort_keys=True) + "\n")
        print(target)
    return EXIT_OK
