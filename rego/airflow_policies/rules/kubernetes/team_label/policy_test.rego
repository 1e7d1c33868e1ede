package airflow_policies.rules.kubernetes.team_label_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.team_label as rule

test_label_a_pod_with_its_team if {
	rule.mutation == {{
		"rule": "kubernetes.team_label",
		"task_ids": ["t1"],
		"field": "pod_labels",
		"value": {"airflow-policies/team": "team_a"},
		"action": "deny",
	}}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"labels": {"app": "etl"}})])])
		with data.airflow_policies.registry as fixtures.registry
}

# An author's label naming another team is overwritten; the right one is left alone; executor_config pods
# are labelled in their final pod, by the hook.
test_relabel_a_spoofed_team_only_on_mutable_pods if {
	label := "airflow-policies/team"
	tasks := [
		fixtures.pod_task("a", [fixtures.pod({"labels": {label: "team_b"}})]),
		fixtures.pod_task("b", [fixtures.pod({"labels": {label: "team_a"}})]),
		fixtures.pod_task("c", [fixtures.pod({"source": "executor_config", "labels": {label: "team_b"}})]),
		fixtures.pod_task("d", [fixtures.pod({"source": "executor_pod"}), fixtures.pod({"labels": {label: "team_a"}})]),
	]
	[[m.task_ids, m.value] | some m in rule.mutation] == [[["a", "d"], {label: "team_a"}]]
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_no_label_without_team if {
	rule.mutation == set() with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as fixtures.registry
}

test_label_key_from_the_registry if {
	registry := object.union(fixtures.registry, {"kubernetes": {"team_label": "example.com/team"}})
	[m.value | some m in rule.mutation] == [{"example.com/team": "team_a"}]
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"labels": {"airflow-policies/team": "x"}})])])
		with data.airflow_policies.registry as registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_labelled_pod if {
	_routed(rule.mutation) == 0 with input as rule.samples.golden.allowed_labelled_pod
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_spoofed_label if {
	_routed(rule.mutation) == 2 with input as rule.samples.golden.mutated_spoofed_label
		with data.airflow_policies.registry as fixtures.registry
}

_routed(mutations) := count([task_id | some m in mutations; some task_id in m.task_ids])
