package airflow_policies.rules.executors.foreign_executor_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.executors.foreign_executor as rule

test_deny_other_teams_executor if {
	violations := rule.violation with input as fixtures.dag({}, [fixtures.task({"executor": "KubernetesExecutor"})])
		with data.airflow_policies.registry as fixtures.registry
	[v.details | some v in violations] == [{"executor": "KubernetesExecutor", "owners": ["team_b"]}]
}

test_allow_unset_own_and_global_executors if {
	inp := fixtures.dag({}, [
		fixtures.task({"executor": null}),
		fixtures.task({"task_id": "t2", "executor": "LocalExecutor"}),
		fixtures.task({"task_id": "t3", "executor": "CeleryExecutor"}),
	])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_executor if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_executor
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_team_a_executor if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_team_a_executor
		with data.airflow_policies.registry as fixtures.registry
}
