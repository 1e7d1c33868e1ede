package airflow_policies.main_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.main

test_decision_of_a_compliant_dag_has_only_mutations if {
	inp := fixtures.dag({"tags": ["etl"]}, [fixtures.task({"queue": "default", "pool": "default_pool"})])
	main.decision == {
		"violations": [],
		"mutations": [
			{"action": "deny", "field": "pool", "rule": "routing.team_pool", "task_ids": ["t1"], "value": "team_a_pool"},
			{"action": "deny", "field": "queue", "rule": "routing.team_queue", "task_ids": ["t1"], "value": "team_a"},
			{
				"action": "deny", "field": "tags", "rule": "tags.stamp_team_tag", "task_ids": [null],
				"value": ["etl", "team:team_a"],
			},
		],
		"policy_revision": "",
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
	rival := {{"rule": "routing.rival", "task_id": "t1", "field": "queue", "value": "team_a_gpu", "action": "deny"}}
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({"queue": "default"})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.rules.routing.rival.mutation as rival
	conflict := [v | some v in decision.violations; v.rule == "main.conflicting_mutation"]
	[[v.task_id, v.details] | some v in conflict] == [["t1", {"field": "queue", "values": ["team_a", "team_a_gpu"]}]]
	every m in decision.mutations {
		m.field != "queue"
	}
}

_foreign_pool_dag := fixtures.dag({}, [fixtures.task({"pool": "team_b_pool"})])

test_violation_carries_the_action_in_force_and_no_exception if {
	overrides := [{"rule": "pools.foreign_pool", "action": "warn", "enforcement_points": ["check"]}]
	decision := main.decision with input as _foreign_pool_dag
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.rollout.actions as overrides
	[[v.rule, v.action, v.exception] | some v in decision.violations] == [["pools.foreign_pool", "warn", null]]
}

test_violation_carries_its_exception if {
	exception := {
		"id": "EXC-7", "rule": "pools.foreign_pool", "team": "team_a", "owner": "alice",
		"reason": "borrowing team_b's pool during the migration", "ticket": "https://t/7", "expires": "2026-12-31",
	}
	decision := main.decision with input as _foreign_pool_dag
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.rollout.exceptions as [exception]
		with time.now_ns as time.parse_rfc3339_ns("2026-12-01T00:00:00Z")
	[[v.action, v.exception.id] | some v in decision.violations] == [["deny", "EXC-7"]]
}

# A dryrun mutation is reported but not applied, so violations are judged on the DAG as written.
test_dryrun_mutation_is_reported_not_applied if {
	overrides := [{"rule": "routing.team_queue", "action": "dryrun"}]
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({"queue": "default"})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.rollout.actions as overrides
	[[m.field, m.action] | some m in decision.mutations; "t1" in m.task_ids] == [["queue", "dryrun"]]
	[v.rule | some v in decision.violations] == ["queues.foreign_queue"]
}

test_decision_names_the_policy_revision if {
	decision := main.decision with input as fixtures.dag({}, [])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.meta.revision as "sha256:abc"
	decision.policy_revision == "sha256:abc"
}

_min_retries := {{
	"rule": "whatever.the_team_claims", "title": "Retries", "task_id": "t1",
	"message": "task 't1' has 0 retries; team A wants at least 2", "remediation": "", "details": {}, "action": "deny",
}}

test_team_layer_adds_violations_under_its_own_namespace if {
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.team_rules.team_a.min_retries.violation as _min_retries
	[[v.rule, v.message] | some v in decision.violations] == [[
		"teams.team_a.min_retries",
		"task 't1' has 0 retries; team A wants at least 2",
	]]
}

test_another_teams_layer_is_never_evaluated if {
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.team_rules.team_b.min_retries.violation as _min_retries
	decision.violations == []
}

test_team_layer_cannot_mutate if {
	sneaky := {{"rule": "x", "task_id": "t1", "field": "queue", "value": "team_b", "action": "deny"}}
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({"queue": "team_a_gpu"})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.team_rules.team_a.sneaky.mutation as sneaky
	every m in decision.mutations {
		m.field != "queue"
	}
}

# A layer's rule id can never be a platform id, so platform overrides and exceptions do not apply to it,
# and a team cannot excuse or downgrade a platform rule by naming it.
test_team_layer_cannot_pass_for_a_platform_rule if {
	overrides := [{"rule": "whatever.the_team_claims", "action": "dryrun"}]
	decision := main.decision with input as fixtures.dag({}, [fixtures.task({})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.team_rules.team_a.min_retries.violation as _min_retries
		with data.airflow_policies.rollout.actions as overrides
	[v.action | some v in decision.violations] == ["deny"]
}

test_teamless_bundle_has_no_layer if {
	decision := main.decision with input as fixtures.dag_of(null, {}, [fixtures.task({})])
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.team_rules.team_a.min_retries.violation as _min_retries
	every v in decision.violations {
		not startswith(v.rule, "teams.")
	}
}
