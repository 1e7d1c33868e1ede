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
