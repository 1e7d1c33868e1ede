package airflow_policies.rules.kubernetes.team_node_pool_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.team_node_pool as rule

test_mutate_a_pod_that_chooses_no_node_pool if {
	rule.mutation == {{
		"rule": "kubernetes.team_node_pool",
		"task_ids": ["t1"],
		"field": "pod_node_selector",
		"value": {"airflow-policies/node-pool": "team-a-pool"},
		"action": "deny",
	}}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as fixtures.registry
}

# A toleration alone lets a pod onto a pool, it does not choose one; a selector or affinity on the label does.
test_only_pods_without_a_selector_or_affinity_on_the_label if {
	label := "airflow-policies/node-pool"
	tasks := [
		fixtures.pod_task("a", [fixtures.pod({"node_selector": {"kubernetes.io/arch": "amd64"}})]),
		fixtures.pod_task("b", [fixtures.pod({"tolerations": [{"key": label, "value": "team-a-pool"}]})]),
		fixtures.pod_task("c", [fixtures.pod({"node_selector": {label: "team-a-pool"}})]),
		fixtures.pod_task("d", [fixtures.pod({"node_affinity": [{"key": label, "operator": "NotIn", "values": ["x"]}]})]),
		fixtures.pod_task("e", [fixtures.pod({"source": "executor_config"})]),
		fixtures.pod_task("f", [fixtures.pod({"source": "executor_pod"}), fixtures.pod({})]),
	]
	[[m.task_ids, m.value] | some m in rule.mutation] == [[["a", "b", "f"], {label: "team-a-pool"}]]
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_without_team_or_default_node_pool if {
	tasks := [fixtures.pod_task("t1", [fixtures.pod({})])]
	rule.mutation == set() with input as fixtures.dag_of(null, {}, tasks)
		with data.airflow_policies.registry as fixtures.registry
	registry := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/teams/team_a/kubernetes/default_node_pool", "value": null}],
	)
	rule.mutation == set() with input as fixtures.dag({}, tasks) with data.airflow_policies.registry as registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_chosen_node_pool if {
	_routed(rule.mutation) == 0 with input as rule.samples.golden.allowed_chosen_node_pool
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_no_node_pool if {
	_routed(rule.mutation) == 2 with input as rule.samples.golden.mutated_no_node_pool
		with data.airflow_policies.registry as fixtures.registry
}

_routed(mutations) := count([task_id | some m in mutations; some task_id in m.task_ids])
