package airflow_policies.main_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.main

test_decision_of_a_compliant_dag_has_only_mutations if {
	inp := fixtures.dag({"tags": ["etl"]}, [fixtures.task({"queue": "default", "pool": "default_pool"})])
	main.decision == {
		"violations": [],
		"mutations": [
			{"rule": "routing.team_pool", "task_id": "t1", "field": "pool", "value": "team_a_pool"},
			{"rule": "routing.team_queue", "task_id": "t1", "field": "queue", "value": "team_a"},
			{"rule": "tags.stamp_team_tag", "task_id": null, "field": "tags", "value": ["etl", "team:team_a"]},
		],
	} with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_violations_are_judged_after_mutations if {
	inp := fixtures.dag({}, [fixtures.task({"queue": "default", "pool": "team_b_pool"})])
	decision := main.decision with input as inp with data.airflow_policies.registry as fixtures.registry
	[v.rule | some v in decision.violations] == ["pools.foreign_pool"]
}

# An input without a DAG gets no decision at all, which the Python side treats as an error (fail closed).
test_no_decision_for_an_input_without_a_dag if {
	not main.decision with input as {} with data.airflow_policies.registry as fixtures.registry
}

test_no_decision_for_another_schema_version if {
	inp := object.union(fixtures.dag({}, []), {"schema_version": 2})
	not main.decision with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_deny_teamless_bundle_through_main if {
	decision := main.decision with input as fixtures.dag_of(null, {"dag_id": "maintenance"}, [])
		with data.airflow_policies.registry as fixtures.registry
	[v.rule | some v in decision.violations] == ["bundles.teamless_bundle"]
}

test_deny_mutation_to_a_resource_the_team_does_not_own if {
	patch := {"op": "replace", "path": "/teams/team_a/default_queue", "value": "team_b"}
	bad_registry := json.patch(fixtures.registry, [patch])
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({"queue": "default"})])
		with data.airflow_policies.registry as bad_registry
	[v.rule | some v in decision.violations] == ["main.unowned_mutation_value", "queues.foreign_queue"]
	every m in decision.mutations {
		m.field != "queue"
	}
}

test_deny_conflicting_mutations if {
	rival := {{"rule": "routing.rival", "task_id": "t1", "field": "queue", "value": "team_a_gpu"}}
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({"queue": "default"})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.rules.routing.rival.mutation as rival
	conflict := [v | some v in decision.violations; v.rule == "main.conflicting_mutation"]
	[[v.task_id, v.details] | some v in conflict] == [["t1", {"field": "queue", "values": ["team_a", "team_a_gpu"]}]]
	every m in decision.mutations {
		m.field != "queue"
	}
}
