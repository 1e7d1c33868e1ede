package airflow_policies.rules.routing.team_pool_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.routing.team_pool as rule

test_mutate_default_pool_to_team_pool if {
	rule.mutation == {{
		"rule": "routing.team_pool",
		"task_ids": ["t1"],
		"field": "pool",
		"value": "team_a_pool",
		"action": "deny",
	}}
		with input as fixtures.dag({}, [fixtures.task({"pool": "default_pool"})])
		with data.airflow_policies.registry as fixtures.registry
}

# One mutation names every routed task, in input order; a task with its own pool is left alone.
test_one_mutation_routes_every_task_on_the_default_pool if {
	tasks := [
		fixtures.task({"task_id": "b", "pool": "default_pool"}),
		fixtures.task({"task_id": "a", "pool": "shared_pool"}),
		fixtures.task({"task_id": "c", "pool": "default_pool"}),
	]
	[[m.task_ids, m.value] | some m in rule.mutation] == [[["b", "c"], "team_a_pool"]]
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_of_an_explicit_pool if {
	rule.mutation == set() with input as fixtures.dag({}, [fixtures.task({"pool": "shared_pool"})])
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_without_team if {
	rule.mutation == set() with input as fixtures.dag_of(null, {}, [fixtures.task({"pool": "default_pool"})])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_explicit_team_pool if {
	_routed(rule.mutation) == 0 with input as rule.samples.golden.allowed_explicit_team_pool
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_default_pool if {
	_routed(rule.mutation) == 1 with input as rule.samples.golden.mutated_default_pool
		with data.airflow_policies.registry as fixtures.registry
}

_routed(mutations) := count([task_id | some m in mutations; some task_id in m.task_ids])
