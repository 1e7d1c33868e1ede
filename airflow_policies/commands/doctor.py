"""``airflow-policies doctor``: what in this component's environment lets a team's code act as another team.

Run it where the component runs (as its Unix user, with its environment), or point it at a component's
configuration with ``--airflow-home`` / ``--env-file``: it then runs in a clean environment made of those only, and
does not read this host's processes (they are not that component's neighbours).

Exit codes as ``check``: 0 no error (warnings do not count), 1 an error finding, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, get_args

from airflow_policies.commands.common import EXIT_OK, EXIT_REJECTED, Subcommands
from airflow_policies.commands.formats import sarif_log
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.posture.models import CHECKS, REMEDIES, Component, PostureReport

__all__ = ["render_sarif", "render_text"]

#: What a pointed-at environment keeps from this one: enough to find Python and Airflow, nothing of the deployment.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "VIRTUAL_ENV")


def register(commands: Subcommands) -> None:
    """Add this command's parser."""
    doctor = commands.add_parser("doctor", help="find what lets a team's code act as another team in a component")
    doctor.add_argument("--component", required=True, choices=get_args(Component), help="the component checked")
    doctor.add_argument("--team", help="the team a worker or triggerer serves (its --team / --team-name)")
    doctor.add_argument(
        "--bundle-name", action="append", dest="bundles", help="a bundle a DAG processor parses (repeatable)"
    )
    doctor.add_argument("--apps", help="the API server's --apps (default: all)")
    doctor.add_argument("--registry", type=Path, help="the team registry: the global executors it opens to teams")
    doctor.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    doctor.add_argument("--airflow-home", type=Path, help="check the component configured in this AIRFLOW_HOME")
    doctor.add_argument("--env-file", type=Path, help="check the component with this environment (KEY=VALUE lines)")
    doctor.add_argument("--no-processes", action="store_true", help="do not read the other processes of this host")
    doctor.set_defaults(handler=run)


def _env_file(path: Path) -> dict[str, str]:
    if not path.is_file():
        raise ConfigurationError(f"--env-file {path} is not a file")
    env = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.removeprefix("export ").partition("=")
        if not sep or not name.strip():
            raise ConfigurationError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        env[name.strip()] = value.strip().strip("'\"")
    return env


def _pointed(args: argparse.Namespace) -> int:
    """Run this command again in an environment made only of the given AIRFLOW_HOME and environment file."""
    env = {name: os.environ[name] for name in _KEPT if name in os.environ}
    if args.env_file is not None:
        env |= _env_file(args.env_file)
    if args.airflow_home is not None:
        if not (args.airflow_home / "airflow.cfg").is_file() and "AIRFLOW_CONFIG" not in env:
            raise ConfigurationError(
                f"--airflow-home {args.airflow_home} holds no airflow.cfg: point at the component's AIRFLOW_HOME"
            )
        env["AIRFLOW_HOME"] = str(args.airflow_home.resolve())
    argv = ["doctor", "--component", args.component, "--format", args.format, "--no-processes"]
    argv += [*(["--team", args.team] if args.team else []), *(["--apps", args.apps] if args.apps else [])]
    argv += [arg for bundle in args.bundles or () for arg in ("--bundle-name", bundle)]
    argv += ["--registry", str(args.registry.resolve())] if args.registry else []
    with tempfile.TemporaryDirectory(prefix="airflow-policies-doctor-") as scratch:
        # Airflow creates its log folder when imported: not in the component's home.
        env.setdefault("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(Path(scratch, "logs")))
        if "AIRFLOW_HOME" not in env and "AIRFLOW_CONFIG" not in env:
            # Only the environment file configures the component: an empty airflow.cfg, so that Airflow does not
            # write a default one (with generated keys) that the component does not have.
            env["AIRFLOW_HOME"] = scratch
            Path(scratch, "airflow.cfg").touch()
        command = [sys.executable, "-m", "airflow_policies.cli", *argv]
        return subprocess.run(command, env=env, check=False).returncode


def run(args: argparse.Namespace) -> int:
    """Check the component, print the report; exit 1 on an error finding."""
    if args.airflow_home is not None or args.env_file is not None:
        return _pointed(args)
    from airflow_policies.posture.checks import inspect, read_deployment

    opened = None
    if args.registry is not None:
        from airflow_policies.policy.registry import load_registry

        opened = tuple(load_registry(args.registry).global_.executors)
    report = inspect(
        args.component,
        read_deployment(opened_global_executors=opened),
        team=args.team,
        bundles=args.bundles,
        processes=not args.no_processes,
        apps=args.apps,
    )
    if args.format == "json":
        print(report.model_dump_json(indent=2))
    elif args.format == "sarif":
        print(render_sarif(report))
    else:
        print(render_text(report))
    return EXIT_REJECTED if report.failed else EXIT_OK


def render_text(report: PostureReport) -> str:
    """The report for a terminal: one block per finding, its evidence and fix."""
    teams = f" ({', '.join(report.teams)})" if report.teams else ""
    errors = sum(f.severity == "error" for f in report.findings)
    lines = [
        f"airflow-policies doctor: {report.component}{teams} on {report.host}: "
        f"{errors} error(s), {len(report.findings) - errors} warning(s)"
    ]
    if not report.processes_inspected:
        lines.append("  (the other processes of the host were not read)")
    for finding in report.findings:
        team = f" {finding.team}" if finding.team else ""
        lines += [
            "",
            f"{finding.severity.upper():<8}{finding.check}{team}: {finding.message}",
            *(f"    found: {where}" for where in finding.evidence),
            f"    fix:   {finding.fix}",
        ]
        if finding.remedy != "configure":
            lines.append(f"    {REMEDIES[finding.remedy]}")
    return "\n".join(lines)


def render_sarif(report: PostureReport) -> str:
    """SARIF 2.1.0: one rule per check, one result per finding, located at the component and team."""
    rule_ids = list(CHECKS)
    results: list[dict[str, Any]] = [
        {
            "ruleId": finding.check,
            "ruleIndex": rule_ids.index(finding.check),
            "level": finding.severity,
            "message": {"text": f"{finding.message}. Found: {'; '.join(finding.evidence)}. Fix: {finding.fix}"},
            "locations": [
                {
                    "logicalLocations": [
                        {"name": f"{report.component}/{finding.team or '*'}", "kind": "module"},
                    ]
                }
            ],
            "properties": {
                "component": finding.component,
                "team": finding.team,
                "remedy": finding.remedy,
            },
        }
        for finding in report.findings
    ]
    rules = [{"id": check, "name": check, "shortDescription": {"text": text}} for check, text in CHECKS.items()]
    invocations = [{"executionSuccessful": True, "machine": report.host}]
    return sarif_log("airflow-policies doctor", rules, results, invocations=invocations)
