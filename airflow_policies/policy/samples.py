"""Rule samples: real DAG files next to each rule, a suite stating what each must produce, and golden inputs.

Layout of a rule folder (``rego/airflow_policies/rules/<family>/<rule>/``)::

    policy.rego  policy_test.rego  suite.yaml
    samples/allowed/*.py   samples/denied/*.py   samples/mutated/*.py (mutation rules)
    samples/golden/<kind>_<name>.json   # the input document each sample produces, for the Rego tests

A suite is verified by parsing each sample with Airflow's DagBag (in a forked child, as ``check`` does) and
asking OPA; the golden files are those same input documents, so the Rego tests run on exactly what the
runtime sends. ``airflow-policies golden --check`` fails when a golden file is stale.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from airflow_policies._files import read_yaml, validation_problems
from airflow_policies._paths import opa_binary
from airflow_policies.decision.models import Decision
from airflow_policies.decision.verdict import outcome_of
from airflow_policies.document.models import BundleInfo, ExecutorInfo, InputDocument, KubernetesInfo
from airflow_policies.document.parse import parse_documents
from airflow_policies.exceptions import ConfigurationError
from airflow_policies.policy.repository import PolicySources, as_sources

__all__ = [
    "FIXTURE_REGISTRY",
    "SAMPLE_EXECUTORS",
    "RuleSamples",
    "SampleCase",
    "Suite",
    "fixture_registry",
    "golden_file",
    "is_stale",
    "load_suite",
    "sample_document",
    "suites",
    "verify_case",
]

#: Where the Rego tests keep their registry; samples are judged against the same one by default.
FIXTURE_REGISTRY = "data.airflow_policies.lib.fixtures_test.registry"

_CELERY = "airflow.providers.celery.executors.celery_executor.CeleryExecutor"
_KUBERNETES = "airflow.providers.cncf.kubernetes.executors.kubernetes_executor.KubernetesExecutor"
#: The deployment every sample is parsed in, whatever this machine's own ``[core] executor`` (so golden inputs
#: are the same everywhere), and the Rego tests' ``fixtures_test.executors``:
#: ``CeleryExecutor,KubernetesExecutor;team_a=LocalExecutor;team_b=KubernetesExecutor``.
SAMPLE_EXECUTORS = (
    ExecutorInfo(team=None, names=["CeleryExecutor", _CELERY]),
    ExecutorInfo(team=None, names=["KubernetesExecutor", _KUBERNETES]),
    ExecutorInfo(team="team_a", names=["LocalExecutor", "airflow.executors.local_executor.LocalExecutor"]),
    ExecutorInfo(team="team_b", names=["KubernetesExecutor", _KUBERNETES]),
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleCase(_Model):
    """One sample DAG file and what the rule must make of it."""

    sample: str = Field(pattern=r"^samples/(allowed|denied|mutated)/[a-z0-9_]+\.py$")
    team: str | None = Field(description="team of the bundle the sample is parsed in (null: a teamless bundle)")
    outcome: Literal["admitted", "mutated", "warned", "rejected"] = Field(
        description="what the whole decision does to the sample's DAG"
    )
    violations: int | None = Field(default=None, ge=0, description="how many violations of this rule")
    mutations: int | None = Field(default=None, ge=0, description="how many mutations of this rule")
    message: str | None = Field(default=None, description="a substring of one of this rule's violations")

    @property
    def kind(self) -> str:
        """allowed, denied or mutated: the sample's folder."""
        return self.sample.split("/")[1]

    @property
    def golden_key(self) -> str:
        """The name of the sample's golden input in the Rego data document."""
        return f"{self.kind}_{Path(self.sample).stem}"

    @property
    def bundle(self) -> BundleInfo:
        """The bundle the sample is parsed in."""
        return BundleInfo(name=f"{self.team or 'teamless'}_dags", team=self.team)


class Suite(_Model):
    """The cases of one rule."""

    cases: list[SampleCase] = Field(min_length=1)


@dataclass(frozen=True)
class RuleSamples:
    """A rule folder with its suite."""

    rule_id: str
    folder: Path
    suite: Suite


def load_suite(path: Path) -> Suite:
    """Read and validate a ``suite.yaml``.

    Raises:
        ConfigurationError: the suite is malformed; the message names the field.
    """
    try:
        return Suite.model_validate(read_yaml(path, "suite file"))
    except ValidationError as exc:
        raise ConfigurationError(f"suite file {path} is invalid: {validation_problems(exc)}") from None


def suites(rules: Path) -> Iterator[RuleSamples]:
    """Every rule folder under ``rules`` (``<family>/<rule>/``) that has a suite."""
    for path in sorted(rules.glob("*/*/suite.yaml")):
        folder = path.parent
        yield RuleSamples(f"{folder.parent.name}.{folder.name}", folder, load_suite(path))

#: The samples' ``[kubernetes_executor]``, whatever this machine's (the Rego tests' ``fixtures_test`` namespace).
SAMPLE_KUBERNETES = KubernetesInfo(namespace="airflow", pod_template_file=None)


def sample_document(folder: Path, case: SampleCase) -> InputDocument:
    """The input document the sample's one DAG produces, as the runtime builds it.

    Raises:
        ConfigurationError: the sample does not import, or does not hold exactly one DAG.
    """
    path = folder / case.sample
    # Airflow's parse-time check of the tasks' executors sees the samples' deployment (every executor as
    # global: a sample's bundle is not in this machine's bundle configuration, which a team check reads).
    executors = ",".join(dict.fromkeys(executor.names[0] for executor in SAMPLE_EXECUTORS))
    documents, errors = parse_documents(path, path.parent, case.bundle, executors)
    if errors or len(documents) != 1:
        raise ConfigurationError(f"sample {path} must define exactly one DAG and import cleanly: {errors or documents}")
    deployment = documents[0].airflow.model_copy(
        update={"executors": list(SAMPLE_EXECUTORS), "kubernetes": SAMPLE_KUBERNETES}
    )
    return documents[0].model_copy(update={"airflow": deployment})


def verify_case(
    rule_id: str, case: SampleCase, document: InputDocument, evaluate: Callable[[InputDocument], Decision]
) -> list[str]:
    """What the decision on the sample gets wrong against the suite (empty when it matches)."""
    decision = evaluate(document)
    violations = [v for v in decision.violations if v.rule == rule_id]
    # A suite counts the fields the rule sets (one per task), however the decision groups them.
    mutations = [(task_id, m.field) for m in decision.mutations if m.rule == rule_id for task_id in m.task_ids]
    problems = []
    if case.violations is not None and len(violations) != case.violations:
        problems.append(f"{len(violations)} violations of {rule_id}, the suite expects {case.violations}: {violations}")
    if case.mutations is not None and len(mutations) != case.mutations:
        problems.append(f"{len(mutations)} mutations by {rule_id}, the suite expects {case.mutations}")
    if case.message is not None and not any(case.message in v.message for v in violations):
        problems.append(f"no violation of {rule_id} says {case.message!r}: {[v.message for v in violations]}")
    outcome = outcome_of(decision)
    if outcome != case.outcome:
        findings = [(v.rule, v.effect, v.message) for v in decision.violations]
        problems.append(f"the DAG is {outcome}, the suite expects {case.outcome}: {findings}")
    if case.kind in ("allowed", "mutated") and decision.rejected:
        problems.append(f"an {case.kind} sample is rejected: {[(v.rule, v.message) for v in decision.violations]}")
    if case.kind == "denied" and not violations:
        problems.append(f"a denied sample has no violation of {rule_id}")
    return problems


def golden_file(folder: Path, case: SampleCase, document: InputDocument) -> tuple[Path, str]:
    """Where the case's golden input lives, and what it must hold for ``document`` (the sample's)."""
    content = json.dumps({case.golden_key: document.model_dump(mode="json")}, indent=2, sort_keys=True) + "\n"
    return folder / "samples" / "golden" / f"{case.golden_key}.json", content


def is_stale(path: Path, content: str) -> bool:
    """Whether the golden file is missing or holds something else."""
    return not path.is_file() or path.read_text() != content


def fixture_registry(rego: Path | PolicySources) -> dict[str, object]:
    """The registry the Rego tests use (:data:`FIXTURE_REGISTRY`), so samples and golden tests judge alike.

    Args:
        rego: a rule directory, or the sources of a policy repository (the library's fixtures are its).

    Raises:
        ConfigurationError: the rule directories define no such registry.
    """
    sources = as_sources(rego)
    data = [argument for folder in sources.dirs for argument in ("--data", str(folder))]
    evaluated = subprocess.run(
        [str(opa_binary()), "eval", "--format", "json", *data, FIXTURE_REGISTRY],
        capture_output=True,
        text=True,
        check=False,
    )
    results = json.loads(evaluated.stdout or "{}").get("result") if evaluated.returncode == 0 else None
    if not results:
        raise ConfigurationError(
            f"{', '.join(map(str, sources.dirs))} define no {FIXTURE_REGISTRY}; pass --registry FILE to judge the "
            "samples against a registry"
        )
    registry: dict[str, object] = results[0]["expressions"][0]["value"]
    return registry
