package airflow_policies.rules.kubernetes.foreign_node_pool_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.main
import data.airflow_policies.rules.kubernetes.foreign_node_pool as rule

test_deny_other_teams_node_pool_in_node_selector if {
	pod := fixtures.pod({"node_selector": {"airflow-policies/node-pool": "team-b-pool"}})
	rule.violation == {{
		"rule": "kubernetes.foreign_node_pool",
		"title": "Node pool the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' asks for node pool 'team-b-pool' (node_selector) in a pod (operator, KubernetesPodOperator), ",
			"which team 'team_a' may not use: it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Leave the node pool unset (your team's default node pool is set for you) or choose one of your team's",
			"node pools.",
		]),
		"details": {
			"node_pool": "team-b-pool", "via": "node_selector", "source": "operator",
			"location": "KubernetesPodOperator", "owners": ["team_b"],
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

# Affinity (operator In, each value) and tolerations with a value choose node pools too; other labels and
# operators do not.
test_deny_node_pools_chosen_through_affinity_and_tolerations if {
	label := "airflow-policies/node-pool"
	pod := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"node_selector": {"kubernetes.io/arch": "gpu-pool"},
		"node_affinity": [
			{"key": label, "operator": "In", "values": ["team-a-pool", "gpu-pool"]},
			{"key": label, "operator": "NotIn", "values": ["team-b-pool"]},
		],
		"tolerations": [
			{"key": label, "operator": "Equal", "value": "team-b-pool", "effect": "NoSchedule"},
			{"key": label, "operator": "Exists", "value": null, "effect": "NoSchedule"},
		],
	})
	_found(rule.violation) == {["t1", "gpu-pool", "node_affinity", []], ["t1", "team-b-pool", "toleration", ["team_b"]]}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

# The registry says which node label names the pool.
test_deny_by_the_registrys_node_pool_label if {
	selector := {"airflow-policies/node-pool": "x", "cloud.google.com/gke-nodepool": "team-b-pool"}
	pod := fixtures.pod({"node_selector": selector})
	registry := object.union(fixtures.registry, {"kubernetes": {"node_pool_label": "cloud.google.com/gke-nodepool"}})
	_found(rule.violation) == {["t1", "team-b-pool", "node_selector", ["team_b"]]}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as registry
}

test_allow_own_node_pool_and_none if {
	pods := [fixtures.pod({"node_selector": {"airflow-policies/node-pool": "team-a-pool"}}), fixtures.pod({})]
	_found(rule.violation) == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

_found(violations) := {[v.task_id, v.details.node_pool, v.details.via, v.details.owners] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_node_pool if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_node_pool
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_other_pools if {
	count(rule.violation) == 3 with input as rule.samples.golden.denied_other_pools
		with data.airflow_policies.registry as fixtures.registry
}

# The team's default node pool is judged on the pods it is given: one the team may not use is reported.
test_deny_a_default_node_pool_the_team_may_not_use if {
	registry := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/teams/team_a/kubernetes/default_node_pool", "value": "team-b-pool"}],
	)
	decision := main.decision with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as registry
	[[v.rule, v.details.node_pool, v.details.via] | some v in decision.violations] == [[
		"kubernetes.foreign_node_pool",
		"team-b-pool", "node_selector",
	]]
}
