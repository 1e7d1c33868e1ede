"""Team layers: extra rules a team ships for its own DAGs, which may only tighten.

A layer lives in ``<root>/<team>/`` and holds rule packages ``airflow_policies.team_rules.<team>.<rule>``
defining ``violation`` sets. The decision (``main.rego``) reads only the layer of the DAG's own team, only
its violations, and files them under ``teams.<team>.<rule>``; this loader refuses, before OPA loads
anything, a file that would reach beyond that: a package outside the team's namespace (a platform
package, ``main``, another team's) or a ``mutation`` rule.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from airflow_policies._paths import opa_binary
from airflow_policies.exceptions import ConfigurationError

__all__ = ["validate_team_layers"]

_TEAM = re.compile(r"^[A-Za-z0-9_]+$")


def _package_and_rules(path: Path) -> tuple[list[str], set[str]]:
    parsed = subprocess.run(
        [str(opa_binary()), "parse", "--format", "json", str(path)], capture_output=True, text=True, check=False
    )
    if parsed.returncode != 0:
        raise ConfigurationError(f"team rule file {path} does not parse: {parsed.stderr.strip()[:500]}")
    tree = json.loads(parsed.stdout)
    package = [str(term["value"]) for term in tree["package"]["path"]]
    rules = {str(rule["head"]["ref"][0]["value"]) for rule in tree.get("rules", [])}
    return package, rules


def validate_team_layers(root: Path) -> list[str]:
    """Check every layer under ``root`` and return the teams that have one.

    Raises:
        ConfigurationError: a file reaches beyond its team's namespace or defines mutations; the message
            names every such file and what it declares.
    """
    if not root.is_dir():
        raise ConfigurationError(f"team rules directory {root} does not exist")
    problems = []
    teams = []
    for layer in sorted(p for p in root.iterdir() if p.is_dir()):
        if not _TEAM.match(layer.name):
            problems.append(f"{layer}: a team layer directory is named after its team (letters, digits, _)")
            continue
        teams.append(layer.name)
        for path in sorted(layer.rglob("*.rego")):
            if path.name.endswith("_test.rego"):
                continue
            package, rules = _package_and_rules(path)
            wanted = ["data", "airflow_policies", "team_rules", layer.name]
            if package[:4] != wanted or len(package) != 5:
                problems.append(
                    f"{path} declares package {'.'.join(package[1:])}; a rule of team {layer.name!r} must be "
                    f"package airflow_policies.team_rules.{layer.name}.<rule>"
                )
            if "mutation" in rules:
                problems.append(f"{path} defines mutations; team layers may only add violations")
    if problems:
        raise ConfigurationError(
            "team rules refused (they may only tighten, for their own team): " + "; ".join(problems)
        )
    return teams
