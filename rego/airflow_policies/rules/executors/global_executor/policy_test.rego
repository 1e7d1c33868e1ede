package airflow_policies.rules.executors.global_executor_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.executors.global_executor as rule

# team_b has a KubernetesExecutor, and so does the deployment globally: the scheduler picks the global one.
test_deny_a_class_the_global_executor_also_has if {
	inp := fixtures.dag_of("team_b", {}, [fixtures.task({"executor": "KubernetesExecutor"})])
	[v.details.resolved | some v in rule.violation] == ["KubernetesExecutor"] with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_the_global_default_for_a_team_without_executors if {
	executors := [e | some e in fixtures.executors; e.team != "team_a"]
	patch := [{"op": "replace", "path": "/airflow/executors", "value": executors}]
	inp := json.patch(fixtures.dag({}, [fixtures.task({})]), patch)
	closed := json.patch(fixtures.registry, [{"op": "replace", "path": "/global/executors", "value": []}])
	violations := rule.violation with input as inp with data.airflow_policies.registry as closed
	[v.message | some v in violations] == [concat("", [
		"task 't1' names no executor and team 'team_a' has none of its own, so the scheduler runs it on the ",
		"global executor 'CeleryExecutor', which team 'team_a' may not use",
	])]
}

test_allow_own_unnamed_and_opened_global_executors if {
	inp := fixtures.dag({}, [
		fixtures.task({"executor": null}),
		fixtures.task({"task_id": "t2", "executor": "LocalExecutor"}),
		fixtures.task({"task_id": "t3", "executor": "airflow.executors.local_executor.LocalExecutor"}),
		fixtures.task({"task_id": "t4", "executor": "CeleryExecutor"}),
	])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_allow_a_teamless_dag_on_the_global_executors if {
	tasks := [fixtures.task({}), fixtures.task({"task_id": "t2", "executor": "KubernetesExecutor"})]
	inp := fixtures.dag_of(null, {}, tasks)
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# Another team's executor answers to no name this team may use: executors.foreign_executor's, not this rule's.
test_ignore_executors_that_do_not_resolve if {
	inp := fixtures.dag({}, [fixtures.task({"executor": "team_b_only"})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_executor if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_executor
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_shadowed_by_global if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_shadowed_by_global
		with data.airflow_policies.registry as fixtures.registry
}
