package airflow_policies.rules.routing.team_queue_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.routing.team_queue as rule

test_mutate_default_queue_to_team_queue if {
	rule.mutation == {{
		"rule": "routing.team_queue",
		"task_ids": ["t1"],
		"field": "queue",
		"value": "team_a",
		"action": "deny",
	}}
		with input as fixtures.dag({}, [fixtures.task({"queue": "default"})])
		with data.airflow_policies.registry as fixtures.registry
}

# One mutation names every routed task, in input order; a task with its own queue is left alone.
test_one_mutation_routes_every_task_on_the_default_queue if {
	tasks := [
		fixtures.task({"task_id": "b", "queue": "default"}),
		fixtures.task({"task_id": "a", "queue": "team_a_gpu"}),
		fixtures.task({"task_id": "c", "queue": "default"}),
	]
	[[m.task_ids, m.value] | some m in rule.mutation] == [[["b", "c"], "team_a"]]
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_of_an_explicit_queue if {
	rule.mutation == set() with input as fixtures.dag({}, [fixtures.task({"queue": "team_a_gpu"})])
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_without_team if {
	rule.mutation == set() with input as fixtures.dag_of(null, {}, [fixtures.task({"queue": "default"})])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_explicit_team_queue if {
	_routed(rule.mutation) == 0 with input as rule.samples.golden.allowed_explicit_team_queue
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_default_queue if {
	_routed(rule.mutation) == 2 with input as rule.samples.golden.mutated_default_queue
		with data.airflow_policies.registry as fixtures.registry
}

_routed(mutations) := count([task_id | some m in mutations; some task_id in m.task_ids])
