package airflow_policies.rules.kubernetes.team_namespace_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.team_namespace as rule

test_mutate_an_operator_pod_without_namespace if {
	rule.mutation == {{
		"rule": "kubernetes.team_namespace",
		"task_ids": ["t1"],
		"field": "pod_namespace",
		"value": "team-a",
		"action": "deny",
	}}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as fixtures.registry
}

# One mutation names each task once, sorted: the executor's final pod in the deployment's namespace, a task
# with two unset operator pods; a pod with its own namespace and an executor_config are left alone.
test_one_mutation_names_every_moved_task_once if {
	tasks := [
		fixtures.pod_task("c", [fixtures.pod({"source": "executor_pod", "location": "pod", "namespace": "airflow"})]),
		fixtures.pod_task("a", [fixtures.pod({}), fixtures.pod({"location": "KubernetesPodOperator.partial"})]),
		fixtures.pod_task("b", [fixtures.pod({"namespace": "team-a"})]),
		fixtures.pod_task("d", [fixtures.pod({"namespace": "team-b"})]),
		fixtures.pod_task("e", [fixtures.pod({"source": "executor_config", "location": "executor_config.pod_override"})]),
		fixtures.task({"task_id": "f"}),
	]
	[[m.task_ids, m.value] | some m in rule.mutation] == [[["a", "c"], "team-a"]]
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

# Without [kubernetes_executor] (no provider), only an unset namespace is moved.
test_no_deployment_namespace_moves_only_unset_ones if {
	tasks := [fixtures.pod_task("a", [fixtures.pod({"namespace": "airflow"})]), fixtures.pod_task("b", [fixtures.pod({})])]
	[m.task_ids | some m in rule.mutation] == [["b"]]
		with input as object.union(fixtures.dag({}, tasks), {"airflow": {"kubernetes": null}})
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_without_team_or_default_namespace if {
	tasks := [fixtures.pod_task("t1", [fixtures.pod({})])]
	rule.mutation == set() with input as fixtures.dag_of(null, {}, tasks)
		with data.airflow_policies.registry as fixtures.registry
	no_default := _with_default(null)
	rule.mutation == set() with input as fixtures.dag({}, tasks) with data.airflow_policies.registry as no_default
}

# A team whose default is the deployment's namespace has nothing to move.
test_no_mutation_when_the_default_is_already_the_namespace if {
	pod := fixtures.pod({"source": "executor_pod", "namespace": "airflow"})
	rule.mutation == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as _with_default("airflow")
}

_with_default(namespace) := json.patch(
	fixtures.registry,
	[{"op": "add", "path": "/teams/team_a/kubernetes/default_namespace", "value": namespace}],
)

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_explicit_namespace if {
	_routed(rule.mutation) == 0 with input as rule.samples.golden.allowed_explicit_namespace
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_unset_namespace if {
	_routed(rule.mutation) == 2 with input as rule.samples.golden.mutated_unset_namespace
		with data.airflow_policies.registry as fixtures.registry
}

_routed(mutations) := count([task_id | some m in mutations; some task_id in m.task_ids])
