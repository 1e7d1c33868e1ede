"""Renderings of a :class:`~airflow_policies.commands.report.CheckReport`: text for people, and for CI systems:

- ``junit``: one test suite per DAG file, one test case per DAG, a failure for a rejected or undecidable
  DAG (JUnit XML, built with ElementTree);
- ``sarif``: SARIF 2.1.0, one result per finding with its rule, level, file and line, excepted findings as
  suppressions (validated against the OASIS schema by the tests);
- ``github``: GitHub Actions workflow commands (``::error file=...,line=...::``), which annotate the lines
  of a pull request.

Every finding keeps its rule id, title, action/effect, DAG file and, where it can be found, the line of
the task (the line that sets its ``task_id``) or of the DAG.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_policies.commands.report import CheckReport
from airflow_policies.decision.record import MutationChange
from airflow_policies.policy.rule_index import RuleDeclaration

__all__ = ["FORMATS", "render", "render_diff", "render_text"]

FORMATS = ("junit", "sarif", "github")
_SARIF_LEVEL = {"deny": "error", "warn": "warning", "dryrun": "note", "excepted": "note"}
_GITHUB_COMMAND = {"deny": "error", "warn": "warning", "dryrun": "notice"}


@dataclass(frozen=True)
class _Finding:
    path: str
    line: int
    dag_id: str
    rule: str
    title: str
    effect: str
    message: str
    remediation: str
    exception: Mapping[str, Any] | None


def _line_of(source: str, task_id: str | None, dag_id: str) -> int:
    names = [task_id.rsplit(".", 1)[-1]] if task_id else []
    names.append(dag_id)
    for name in names:
        match = re.search(rf"""["']{re.escape(name)}["']""", source)
        if match:
            return source.count("\n", 0, match.start()) + 1
    return 1


def _findings(report: CheckReport, root: Path) -> Iterator[_Finding]:
    for file in report.files:
        path = root / file.file
        try:
            source = path.read_text()
        except OSError:
            source = ""
        for dag in file.dags:
            if dag.error is not None:
                yield _Finding(
                    str(path),
                    _line_of(source, None, dag.dag_id),
                    dag.dag_id,
                    "airflow_policies.no_decision",
                    "No decision",
                    "deny" if dag.outcome == "failed_closed" else "warn",
                    dag.error,
                    "",
                    None,
                )
            for v in dag.violations:
                yield _Finding(
                    str(path),
                    _line_of(source, v.task_id, dag.dag_id),
                    dag.dag_id,
                    v.rule,
                    v.title or v.rule,
                    v.effect,
                    v.message,
                    v.remediation,
                    v.exception.model_dump(mode="json") if v.exception else None,
                )
        if file.import_error:
            yield _Finding(
                str(path),
                1,
                "",
                "airflow_policies.import_error",
                "DAG file failed to import",
                "deny",
                file.import_error.strip().splitlines()[-1],
                "",
                None,
            )


def _junit(report: CheckReport, root: Path, _: Mapping[str, RuleDeclaration]) -> str:
    suites = ET.Element("testsuites", name="airflow-policies check")
    findings = list(_findings(report, root))
    for file in report.files:
        path = str(root / file.file)
        suite = ET.SubElement(suites, "testsuite", name=path)
        cases: list[tuple[str, str]] = [(dag.dag_id, dag.outcome) for dag in file.dags]
        if file.import_error:
            cases.append(("<import>", "import_error"))
        failures = 0
        for dag_id, outcome in cases:
            case = ET.SubElement(suite, "testcase", classname=path, name=dag_id)
            owner = "" if outcome == "import_error" else dag_id
            mine = [f for f in findings if f.path == path and f.dag_id == owner]
            denied = [f for f in mine if f.effect == "deny"]
            if outcome in ("rejected", "failed_closed", "import_error"):
                failures += 1
                failure = ET.SubElement(case, "failure", message=f"{dag_id}: {outcome}", type=outcome)
                failure.text = "\n".join(f"[{f.rule}] line {f.line}: {f.message}" for f in denied)
            others = [f for f in mine if f.effect != "deny"]
            if others:
                ET.SubElement(case, "system-out").text = "\n".join(
                    f"{f.effect}: [{f.rule}] line {f.line}: {f.message}" for f in others
                )
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(failures))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def _sarif(report: CheckReport, root: Path, rules: Mapping[str, RuleDeclaration]) -> str:
    findings = list(_findings(report, root))
    rule_ids = sorted({f.rule for f in findings} | set(rules))
    descriptors = []
    for rule_id in rule_ids:
        declared = rules.get(rule_id)
        title = declared.title if declared else next(f.title for f in findings if f.rule == rule_id)
        descriptor: dict[str, Any] = {"id": rule_id, "name": rule_id, "shortDescription": {"text": title}}
        if declared:
            descriptor["fullDescription"] = {"text": " ".join(declared.description.split()) or title}
            if declared.remediation:
                descriptor["help"] = {"text": " ".join(declared.remediation.split())}
            descriptor["defaultConfiguration"] = {"level": _SARIF_LEVEL[declared.action or "deny"]}
            descriptor["properties"] = {"action": declared.action or "deny", "severity": declared.severity or "high"}
        descriptors.append(descriptor)
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "ruleIndex": rule_ids.index(f.rule),
            "level": _SARIF_LEVEL[f.effect],
            "message": {"text": f"{f.message}" + (f" Fix: {f.remediation}" if f.remediation else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": Path(f.path).as_posix()},
                        "region": {"startLine": f.line},
                    }
                }
            ],
            "properties": {"dag_id": f.dag_id, "effect": f.effect},
        }
        if f.exception is not None:
            result["suppressions"] = [
                {
                    "kind": "external",
                    "status": "accepted",
                    "justification": f"{f.exception['id']}: {f.exception['reason']} ({f.exception['ticket']}, "
                    f"owner {f.exception['owner']}, until {f.exception['expires']})",
                }
            ]
        results.append(result)
    return sarif_log("airflow-policies", descriptors, results)


def sarif_log(tool: str, rules: list[dict[str, Any]], results: list[dict[str, Any]], **run: Any) -> str:  # noqa: ANN401
    """A SARIF 2.1.0 log of one run of ``tool``: its rule descriptors, its results, and more of the run's fields."""
    log = {
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": tool, "rules": rules}}, **run, "results": results}],
    }
    return json.dumps(log, indent=2)


def _escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _github(report: CheckReport, root: Path, _: Mapping[str, RuleDeclaration]) -> str:
    lines = []
    for f in _findings(report, root):
        command = _GITHUB_COMMAND.get(f.effect)
        if command is None:  # excepted findings are not annotated
            continue
        title = _escape(f"{f.rule}: {f.title}", property_value=True)
        body = f.message + (f"\nfix: {f.remediation}" if f.remediation else "")
        lines.append(
            f"::{command} file={_escape(f.path, property_value=True)},line={f.line},title={title}::{_escape(body)}"
        )
    counts = report.counts()
    lines.append(", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in counts))
    return "\n".join(lines)


def render(fmt: str, report: CheckReport, root: Path, rules: Mapping[str, RuleDeclaration]) -> str:
    """``report`` in format ``fmt`` (one of :data:`FORMATS`); ``root`` is the checked folder as given."""
    return {"junit": _junit, "sarif": _sarif, "github": _github}[fmt](report, root, rules)


_EFFECT_MARK = {"deny": "x", "warn": "!", "dryrun": "?", "excepted": "="}


def render_text(report: CheckReport) -> str:
    """The human-readable report: every DAG's outcome, findings with their fix, mutations, expiring exceptions."""
    lines = []
    for file in report.files:
        if file.import_error:
            lines.append(f"IMPORT ERROR  {file.file}")
            lines.extend(f"    {line}" for line in file.import_error.strip().splitlines()[-6:])
        for dag in file.dags:
            lines.append(f"{dag.outcome.upper():<13} {file.file}  {dag.dag_id}  (team: {dag.team or '-'})")
            for v in dag.violations:
                lines.append(f"    {_EFFECT_MARK[v.effect]} {v.effect:<8} [{v.rule}] {v.message}")
                if v.exception is not None:
                    e = v.exception
                    lines.append(f"        excepted by {e.id} ({e.owner}, until {e.expires}, {e.ticket}): {e.reason}")
                elif v.remediation and v.effect != "dryrun":
                    lines.append(f"        fix: {v.remediation}")
            if dag.error:
                lines.append(f"    error: {dag.error}")
            lines.extend(f"    {line}" for line in _mutation_lines(dag.mutations))
    lines.extend(_expiring_lines(report))
    counts = report.counts()
    outcomes = [k for k in counts if k != "import_errors"]
    lines.append(
        f"{sum(counts[k] for k in outcomes)} DAGs: "
        + ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in outcomes)
        + f"; {counts['import_errors']} files failed to import"
    )
    return "\n".join(lines)


def _mutation_lines(mutations: Sequence[MutationChange]) -> list[str]:
    return [
        f"~ {m.targets} {m.field}: {m.before!r} -> {m.after!r}  "
        f"[{m.rule}]{'' if m.applied else '  (dryrun: not applied)'}"
        for m in mutations
    ]


def render_diff(report: CheckReport) -> str:
    """Only before -> after of every mutated field."""
    lines = []
    for file in report.files:
        for dag in file.dags:
            if dag.mutations:
                lines.append(f"{file.file}  {dag.dag_id}")
                lines.extend(f"    {line}" for line in _mutation_lines(dag.mutations))
    changed = sum(len(m.task_ids) for f in report.files for d in f.dags for m in d.mutations if m.applied)
    lines.append(f"{changed} fields changed")
    return "\n".join(lines)


def _expiring_lines(report: CheckReport) -> list[str]:
    if not report.expiring_exceptions:
        return []
    lines = [f"{len(report.expiring_exceptions)} exceptions expire soon:"]
    for e in report.expiring_exceptions:
        lines.append(f"    {e.expires}  {e.id}  {e.rule}  team {e.team}, dag_id {e.dag_id}  ({e.owner}, {e.ticket})")
    return lines
