"""From a decision to what happens to a real DAG: the verdict, its decision-log record, and enforcement."""

from __future__ import annotations

import datetime
import json

import pendulum
import pytest
from airflow.exceptions import AirflowClusterPolicyViolation
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

from airflow_policies.decision.breaker import CircuitBreaker
from airflow_policies.decision.models import Decision, parse_decision
from airflow_policies.decision.record import DecisionRecord
from airflow_policies.decision.verdict import judge
from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument
from airflow_policies.enforcement.enforce import enforce, parse_messages, rejection_message, warning_message
from airflow_policies.exceptions import (
    MalformedDecisionError,
    OpaTimeoutError,
    OpaUnavailableError,
    OpaUnreachableError,
)

START = pendulum.datetime(2026, 1, 1, tz="UTC")
FOREIGN = {
    "rule": "connections.foreign_connection",
    "task_id": "plain",
    "message": "uses team_b_api",
    "remediation": "use your own connection",
    "action": "deny",
}
NAMESPACE = {"rule": "dag_ids.namespace", "task_id": None, "message": "dag_id outside team_a__", "action": "deny"}
EXCEPTION = {"id": "EXC-1", "owner": "alice", "reason": "migration", "ticket": "T-1", "expires": "2030-01-01"}


def _dag() -> DAG:
    with DAG("team_a__d", schedule=None, start_date=START, tags=["etl"]) as dag:
        BashOperator(task_id="plain", bash_command="true")
        BashOperator.partial(task_id="mapped").expand(bash_command=["true", "false"])
    return dag


def _document(dag: DAG) -> InputDocument:
    return build_input(dag, bundle=BundleInfo(name="team_a_dags", team="team_a"), enforcement_point="cli")


def _answer(violations: list[dict], mutations: list[dict]) -> Decision:
    body = {"result": {"violations": violations, "mutations": mutations, "policy_revision": "sha256:abc"}}
    return parse_decision(body, source="t")


def _judge(dag: DAG, violations=(), mutations=(), *, failure_mode="closed", log="none") -> DecisionRecord:
    decision = _answer(list(violations), list(mutations))
    return judge(_document(dag), lambda _: decision, failure_mode=failure_mode, decision_log=log)


def _failing(error: Exception):
    def evaluate(_: InputDocument) -> Decision:
        raise error

    return evaluate


class TestVerdict:
    def test_outcomes(self):
        """deny rejects; warn warns; dryrun and excepted admit silently; applied mutations mutate."""
        queue = {"rule": "routing.team_queue", "task_ids": ["plain"], "field": "queue", "value": "team_a"}
        assert _judge(_dag(), [FOREIGN, {**NAMESPACE, "action": "warn"}]).outcome == "rejected"
        assert _judge(_dag(), [{**FOREIGN, "action": "warn"}]).outcome == "warned"
        assert _judge(_dag(), [{**FOREIGN, "action": "dryrun"}]).outcome == "admitted"
        assert _judge(_dag(), [{**FOREIGN, "exception": EXCEPTION}]).outcome == "admitted"
        assert _judge(_dag(), [], [{**queue, "action": "deny"}]).outcome == "mutated"
        assert _judge(_dag(), [], [{**queue, "action": "warn"}]).outcome == "warned"
        assert _judge(_dag(), [], [{**queue, "action": "dryrun"}]).outcome == "admitted"

    def test_record_has_what_the_decision_log_promises(self, tmp_path):
        """One JSON line with ids, team, input hash, revision, findings, exceptions, before/after, latency."""
        log = tmp_path / "decisions.jsonl"
        mutation = {"rule": "routing.team_queue", "task_ids": ["plain"], "field": "queue", "value": "team_a"}
        _judge(_dag(), [{**FOREIGN, "exception": EXCEPTION}], [{**mutation, "action": "deny"}], log=str(log))
        (line,) = log.read_text().splitlines()
        entry = json.loads(line)
        assert entry["event"] == "airflow_policies.decision"
        assert (entry["enforcement_point"], entry["bundle"], entry["team"]) == ("cli", "team_a_dags", "team_a")
        assert (entry["dag_id"], entry["outcome"], entry["policy_revision"]) == ("team_a__d", "mutated", "sha256:abc")
        assert entry["input_hash"].startswith("sha256:") and len(entry["input_hash"]) == 71
        assert entry["exceptions_applied"] == ["EXC-1"]
        assert entry["violations"][0]["exception"]["ticket"] == "T-1"
        assert entry["mutations"] == [
            {
                "rule": "routing.team_queue",
                "task_ids": ["plain"],
                "field": "queue",
                "before": "default",
                "after": "team_a",
                "action": "deny",
                "applied": True,
            }
        ]
        assert entry["latency_ms"] >= 0 and len(entry["decision_id"]) == 36

    def test_one_logged_change_per_rule_field_and_value_before_naming_every_task(self, tmp_path):
        """A mutation of many tasks is logged once per value it replaces, listing the tasks; nothing is lost."""
        with DAG("team_a__d", schedule=None, start_date=START) as dag:
            for n in range(30):
                BashOperator(task_id=f"t{n}", bash_command="true", queue="team_a_gpu" if n == 7 else "default")
        task_ids = [f"t{n}" for n in range(30)]
        mutation = {"rule": "routing.x", "task_ids": task_ids, "field": "queue", "value": "team_a", "action": "deny"}
        log = tmp_path / "decisions.jsonl"
        record = _judge(dag, [], [mutation], log=str(log))
        changes = [(m.before, m.task_ids) for m in record.mutations]
        assert changes == [("default", [t for t in task_ids if t != "t7"]), ("team_a_gpu", ["t7"])]
        (line,) = log.read_text().splitlines()
        assert [m["task_ids"] for m in json.loads(line)["mutations"]] == [c[1] for c in changes]
        enforce(dag, record)
        assert {t.queue for t in dag.tasks} == {"team_a"}

    def test_same_dag_same_input_hash(self):
        """The input hash identifies the input: equal documents, equal hashes."""
        assert _judge(_dag()).input_hash == _judge(_dag()).input_hash

    @pytest.mark.parametrize("mode", ["closed", "open"])
    def test_failure_follows_the_failure_mode_and_is_logged(self, mode, tmp_path):
        """No decision: failed_closed or failed_open, with the error, in the log."""
        log = tmp_path / "decisions.jsonl"
        record = judge(
            _document(_dag()),
            _failing(OpaUnreachableError("OPA at http://x is unreachable")),
            failure_mode=mode,
            decision_log=str(log),
        )
        assert (record.outcome, record.admitted) == (f"failed_{mode}", mode == "open")
        assert json.loads(log.read_text())["error"] == "OPA at http://x is unreachable"

    def test_mutation_of_an_unknown_task_is_a_malformed_decision(self):
        """A decision naming a task the DAG does not have is refused, fail closed."""
        ghost = {"rule": "r", "task_ids": ["ghost"], "field": "queue", "value": "q", "action": "deny"}
        record = _judge(_dag(), [], [ghost])
        assert record.outcome == "failed_closed"
        assert "does not have" in (record.error or "")


class TestEnforce:
    def test_all_denied_violations_in_one_message_with_the_warnings(self):
        """One import error lists every denied rule, the team, the task and the fix; warnings follow."""
        dag = _dag()
        record = _judge(dag, [FOREIGN, {**NAMESPACE, "action": "warn"}])
        with pytest.raises(AirflowClusterPolicyViolation) as error:
            enforce(dag, record)
        assert str(error.value) == (
            "DAG 'team_a__d' (bundle 'team_a_dags', team 'team_a') breaks 1 team-boundary rule:\n"
            "  - [connections.foreign_connection] uses team_b_api\n"
            "    fix: use your own connection\n"
            "and would also be warned about:\n"
            "  - [dag_ids.namespace] dag_id outside team_a__\n"
            "  (decided at cli by policy sha256:abc)"
        )

    def test_warning_for_an_admitted_dag(self):
        """A warned DAG is admitted and its authors get the text for the UI."""
        dag = _dag()
        warning = enforce(dag, _judge(dag, [{**FOREIGN, "action": "warn"}]))
        assert warning == (
            "airflow-policies: DAG 'team_a__d' (bundle 'team_a_dags', team 'team_a') is admitted, but:\n"
            "  - [connections.foreign_connection] uses team_b_api\n"
            "    fix: use your own connection\n"
            "  (decided at cli by policy sha256:abc)"
        )

    def test_dryrun_and_excepted_say_nothing(self):
        """Nothing changes for the DAG, and nothing is shown to its authors."""
        dag = _dag()
        assert (
            enforce(dag, _judge(dag, [{**FOREIGN, "action": "dryrun"}, {**NAMESPACE, "exception": EXCEPTION}])) is None
        )

    def test_fail_closed_rejects_and_fail_open_warns(self):
        """No decision: closed rejects with the reason; open admits and says it was not checked."""
        dag = _dag()
        failure = _failing(MalformedDecisionError("OPA returned a malformed decision: x"))
        closed = judge(_document(dag), failure, failure_mode="closed", decision_log="none")
        with pytest.raises(
            AirflowClusterPolicyViolation, match="could not decide on it \\(fail closed\\): OPA returned"
        ):
            enforce(dag, closed)
        opened = judge(_document(dag), failure, failure_mode="open", decision_log="none")
        assert "admitted unchecked (fail open): OPA returned a malformed decision" in (enforce(dag, opened) or "")

    def test_mutations_are_applied_to_plain_and_mapped_tasks_and_the_dag(self):
        """Allowlisted fields are set, with values converted to what Airflow expects; dryrun ones are not."""
        dag = _dag()
        mutations = [
            {"rule": "routing.team_queue", "task_ids": ["plain"], "field": "queue", "value": "team_a"},
            {"rule": "routing.team_queue", "task_ids": ["mapped"], "field": "queue", "value": "team_a"},
            {"rule": "routing.team_pool", "task_ids": ["mapped"], "field": "executor", "value": "LocalExecutor"},
            {"rule": "x.timeouts", "task_ids": ["plain"], "field": "execution_timeout", "value": 60},
            {"rule": "x.retries", "task_ids": ["plain"], "field": "retries", "value": 2},
            {"rule": "tags.stamp_team_tag", "task_ids": [None], "field": "tags", "value": ["etl", "team:team_a"]},
        ]
        dryrun = {"rule": "x.pools", "task_ids": ["plain"], "field": "pool", "value": "team_a_pool", "action": "dryrun"}
        enforce(dag, _judge(dag, [], [{**m, "action": "deny"} for m in mutations] + [dryrun]))
        plain, mapped = dag.task_dict["plain"], dag.task_dict["mapped"]
        assert (plain.queue, plain.execution_timeout, plain.retries) == ("team_a", datetime.timedelta(seconds=60), 2)
        assert plain.pool == "default_pool"
        assert (mapped.queue, mapped.executor) == ("team_a", "LocalExecutor")
        assert dag.tags == {"etl", "team:team_a"}

    def test_pod_mutations_set_the_operators_arguments_merging_selectors_and_labels(self):
        """A KubernetesPodOperator (plain or mapped) gets its team's namespace, service account, node pool and
        label as its arguments; the node selector and labels it has are kept."""
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        with DAG("team_a__d", schedule=None, start_date=START) as dag:
            KubernetesPodOperator(task_id="kpo", image="x:1", labels={"app": "etl"}, node_selector={"disk": "ssd"})
            KubernetesPodOperator.partial(task_id="mapped", image="x:1").expand(arguments=[["a"], ["b"]])
        both = ["kpo", "mapped"]
        mutations = [
            {"rule": "kubernetes.team_namespace", "task_ids": both, "field": "pod_namespace", "value": "team-a"},
            {"rule": "kubernetes.team_service_account", "task_ids": both, "field": "pod_service_account",
             "value": "team-a-runner"},
            {"rule": "kubernetes.team_node_pool", "task_ids": both, "field": "pod_node_selector",
             "value": {"pool": "team-a"}},
            {"rule": "kubernetes.team_label", "task_ids": both, "field": "pod_labels", "value": {"team": "team_a"}},
        ]  # fmt: skip
        record = _judge(dag, [], [{**m, "action": "deny"} for m in mutations])
        enforce(dag, record)
        kpo, mapped = dag.task_dict["kpo"], dag.task_dict["mapped"]
        assert (kpo.namespace, kpo.service_account_name) == ("team-a", "team-a-runner")
        assert kpo.node_selector == {"disk": "ssd", "pool": "team-a"}
        assert kpo.labels == {"app": "etl", "team": "team_a"}
        assert {
            k: mapped.partial_kwargs[k] for k in ("namespace", "service_account_name", "node_selector", "labels")
        } == {
            "namespace": "team-a",
            "service_account_name": "team-a-runner",
            "node_selector": {"pool": "team-a"},
            "labels": {"team": "team_a"},
        }
        # The decision log says what each pod had before: its namespace, and of a merged object the keys set.
        before = {(c.field, tuple(c.task_ids)): c.before for c in record.mutations}
        assert before["pod_namespace", ("kpo", "mapped")] is None
        assert before["pod_node_selector", ("kpo", "mapped")] == {"pool": None}

    def test_a_pod_mutation_of_a_task_without_its_own_pod_is_a_malformed_decision(self):
        """An executor_config pod is mutated in the final pod, by the kubernetes_executor point, never at parse time."""
        mutation = {"rule": "k.x", "task_ids": ["plain"], "field": "pod_namespace", "value": "team-a", "action": "deny"}
        record = _judge(_dag(), [], [mutation])
        assert record.outcome == "failed_closed" and "which has no pod" in record.error


def test_only_an_unreachable_opa_opens_the_breaker(tmp_path):
    """Unreachable/slow opens the shared breaker; an HTTP error or a malformed answer means OPA is up."""
    breaker = CircuitBreaker(tmp_path / "breaker.json", 30)
    for error in (OpaUnavailableError("HTTP 500"), MalformedDecisionError("malformed")):
        judge(_document(_dag()), _failing(error), failure_mode="closed", decision_log="none", breaker=breaker)
        assert not breaker.is_open
    judge(
        _document(_dag()),
        _failing(OpaUnreachableError("down")),
        failure_mode="closed",
        decision_log="none",
        breaker=breaker,
    )
    assert breaker.is_open


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_a_timeout_while_opa_answers_is_charged_to_the_document_alone(tmp_path, mode):
    """OPA answers its health check: the slow document fails closed whatever the mode, the breaker stays shut.
    OPA does not: the breaker opens and the failure mode applies."""
    breaker = CircuitBreaker(tmp_path / "breaker.json", 30)
    slow = _failing(OpaTimeoutError("did not answer within 2s (read timeout)"))
    record = judge(
        _document(_dag()), slow, failure_mode=mode, decision_log="none", breaker=breaker, answers=lambda: True
    )
    assert record.outcome == "failed_closed" and "so this document" in (record.error or "")
    assert not breaker.is_open
    record = judge(
        _document(_dag()), slow, failure_mode=mode, decision_log="none", breaker=breaker, answers=lambda: False
    )
    assert record.outcome == f"failed_{mode}" and "so this document" not in (record.error or "")
    assert breaker.is_open


def test_an_oversized_input_document_is_undecidable_and_says_why():
    """A document over max_input_bytes is never sent: the DAG fails closed with its size and the setting."""
    sent = []
    record = judge(
        _document(_dag()),
        lambda document: sent.append(document) or _answer([], []),
        failure_mode="closed",
        decision_log="none",
        max_input_bytes=64 * 1024,
    )
    assert record.outcome == "admitted" and len(sent) == 1
    with DAG("team_a__big", schedule=None, start_date=START) as big:
        for n in range(400):
            BashOperator(task_id=f"task_{n}", bash_command="true")
    record = judge(
        _document(big), lambda document: sent.append(document), failure_mode="open", decision_log="none",
        max_input_bytes=64 * 1024,
    )  # fmt: skip
    assert record.outcome == "failed_closed" and len(sent) == 1  # its author sized it: never admitted unchecked
    assert "DAG 'team_a__big' is 0.2 MB (400 tasks), over the limit of 0.1 MB" in (record.error or "")
    assert "AIRFLOW__AIRFLOW_POLICIES__MAX_INPUT_BYTES" in (record.error or "")


class TestParseMessages:
    """The policy report reads import errors and DAG warnings back: what enforce writes, parse_messages reads."""

    def test_a_rejection_reads_back_with_its_findings_point_and_revision(self):
        dag = _dag()
        record = _judge(dag, [{**FOREIGN, "task_id": "t", "message": "task 't' uses team_b_api"}, NAMESPACE])
        (parsed,) = parse_messages(f"AirflowClusterPolicyViolation: {rejection_message(record)}")
        assert (parsed.dag_id, parsed.bundle, parsed.team, parsed.outcome) == (
            "team_a__d",
            "team_a_dags",
            "team_a",
            "rejected",
        )
        assert [(f.rule, f.effect, f.task_id, f.remediation) for f in parsed.findings] == [
            ("connections.foreign_connection", "deny", "t", "use your own connection"),
            ("dag_ids.namespace", "deny", None, None),
        ]
        assert (parsed.enforcement_point, parsed.policy_revision) == ("cli", "sha256:abc")

    def test_a_warning_with_a_warned_mutation_reads_back(self):
        dag = _dag()
        routed = {
            "rule": "routing.team_queue",
            "task_ids": ["plain"],
            "field": "queue",
            "value": "team_a",
            "action": "warn",
        }
        record = _judge(dag, [{**FOREIGN, "action": "warn"}], [routed])
        (parsed,) = parse_messages(warning_message(record) or "")
        assert parsed.outcome == "warned"
        assert [(f.rule, f.effect, f.task_id) for f in parsed.findings] == [
            ("connections.foreign_connection", "warn", None),
            ("routing.team_queue", "warn", "plain"),
        ]

    def test_several_blocks_and_foreign_text_in_one_import_error(self):
        """The manager appends one block per rejected DAG to whatever import error the file already had."""
        dag = _dag()
        first = rejection_message(_judge(dag, [FOREIGN]))
        unreachable = _failing(OpaUnreachableError("OPA at x is unreachable"))
        closed = judge(_document(dag), unreachable, failure_mode="closed", decision_log="none")
        text = f"Traceback (most recent call last):\n  boom\nAirflowClusterPolicyViolation: {first}\n" + (
            f"AirflowClusterPolicyViolation: {rejection_message(closed)}"
        )
        parsed = parse_messages(text)
        assert [(p.outcome, len(p.findings)) for p in parsed] == [("rejected", 1), ("failed_closed", 0)]
        assert "unreachable" in (parsed[1].error or "")

    def test_text_that_is_not_ours_yields_nothing(self):
        assert parse_messages("SyntaxError: invalid syntax (dag.py, line 3)") == []
