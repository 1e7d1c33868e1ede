package airflow_policies.rules.pools.foreign_pool_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.pools.foreign_pool as rule

test_deny_other_teams_pool_in_nested_group if {
	nested := fixtures.task({"task_id": "outer.inner.t", "task_group": "outer.inner", "pool": "team_b_pool"})
	inp := fixtures.dag({}, [nested])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	[[v.task_id, v.message] | some v in violations] == [[
		"outer.inner.t",
		"task 'outer.inner.t' runs on pool 'team_b_pool', which team 'team_a' may not use: it belongs to team 'team_b'",
	]]
}

test_deny_default_pool_left_unrouted if {
	count(rule.violation) == 1 with input as fixtures.dag({}, [fixtures.task({"pool": "default_pool"})])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_and_global_pools if {
	tasks := [fixtures.task({"pool": "team_a_pool"}), fixtures.task({"task_id": "t2", "pool": "shared_pool"})]
	inp := fixtures.dag({}, tasks)
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_pool if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_pool
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_team_b_pool if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_team_b_pool
		with data.airflow_policies.registry as fixtures.registry
}
