package airflow_policies.rules.kubernetes.foreign_namespace_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.main
import data.airflow_policies.rules.kubernetes.foreign_namespace as rule

test_deny_other_teams_namespace if {
	inp := fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"namespace": "team-b"})])])
	rule.violation == {{
		"rule": "kubernetes.foreign_namespace",
		"title": "Namespace the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' runs a pod (operator, KubernetesPodOperator) in namespace 'team-b', which team 'team_a' ",
			"may not use: it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Leave namespace unset (your team's default namespace is set for you) or use one of your team's",
			"namespaces.",
		]),
		"details": {"namespace": "team-b", "source": "operator", "location": "KubernetesPodOperator", "owners": ["team_b"]},
		"action": "deny",
	}} with input as inp with data.airflow_policies.registry as fixtures.registry
}

# default_args repeat the namespace on every task: each task is reported.
test_deny_each_task_a_default_args_namespace_reaches if {
	pod := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"namespace": "kube-system",
	})
	tasks := [fixtures.pod_task("a", [pod]), fixtures.pod_task("b", [pod]), fixtures.task({"task_id": "c"})]
	_found(rule.violation) == {
		["a", "kube-system", "executor_config", []],
		["b", "kube-system", "executor_config", []],
	}
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

# A task with its operator's pod and an executor_config: each pod is judged.
test_deny_only_the_foreign_pod_of_a_task_with_several if {
	pods := [
		fixtures.pod({"namespace": "team-a"}),
		fixtures.pod({"source": "executor_config", "location": "executor_config.pod_override", "namespace": "team-b"}),
	]
	_found(rule.violation) == {["t1", "team-b", "executor_config", ["team_b"]]}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_global_and_unset_namespaces if {
	pods := [fixtures.pod({"namespace": "team-a"}), fixtures.pod({"namespace": "airflow"}), fixtures.pod({})]
	_found(rule.violation) == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_everything_but_global_for_a_null_team if {
	pods := [fixtures.pod({"namespace": "team-a"}), fixtures.pod({"namespace": "airflow"})]
	_found(rule.violation) == {["t1", "team-a", "operator", ["team_a"]]}
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_tasks_without_pods if {
	_found(rule.violation) == set()
		with input as fixtures.dag({}, [fixtures.task({}), object.remove(fixtures.task({"task_id": "t2"}), ["pods"])])
		with data.airflow_policies.registry as fixtures.registry
}

# The KubernetesExecutor's final pod lands in the deployment's namespace (here one no team may use): the
# decision moves it to the team's, and judges it there.
test_allow_the_executor_pod_the_team_namespace_mutation_moves if {
	pod := fixtures.pod({"source": "executor_pod", "location": "pod", "namespace": "default"})
	inp := object.union(fixtures.dag({}, [fixtures.pod_task("t1", [pod])]), {
		"enforcement_point": "kubernetes_executor",
		"airflow": {"kubernetes": {"namespace": "default"}},
	})
	_found(rule.violation) == {["t1", "default", "executor_pod", []]}
		with input as inp
		with data.airflow_policies.registry as fixtures.registry
	decision := main.decision with input as inp with data.airflow_policies.registry as fixtures.registry
	[v.rule | some v in decision.violations] == []
	moved := {
		"rule": "kubernetes.team_namespace", "field": "pod_namespace", "value": "team-a", "action": "deny",
		"task_ids": ["t1"],
	}
	moved in decision.mutations
}

_found(violations) := {[v.task_id, v.details.namespace, v.details.source, v.details.owners] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_namespaces if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_namespaces
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_default_args_namespace if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_default_args_namespace
		with data.airflow_policies.registry as fixtures.registry
}

# A team default the team may not use (a registry mistake) is not applied unseen: the moved pod is reported.
test_deny_a_default_namespace_the_team_may_not_use if {
	registry := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/teams/team_a/kubernetes/default_namespace", "value": "team-b"}],
	)
	decision := main.decision with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as registry
	[[v.rule, v.details.namespace] | some v in decision.violations] == [["kubernetes.foreign_namespace", "team-b"]]
}
