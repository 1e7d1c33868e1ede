package airflow_policies.team_rules.team_a.min_retries_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.team_rules.team_a.min_retries as rule

test_deny_fewer_than_two_retries if {
	[v.message | some v in rule.violation] == ["task 't1' has 1 retries; team A's DAGs retry at least twice"]
		with input as fixtures.dag({}, [fixtures.task({"retries": 1})])
}

test_allow_two_retries if {
	rule.violation == set() with input as fixtures.dag({}, [fixtures.task({"retries": 2})])
}
