package airflow_policies.rules.connections.foreign_connection_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.connections.foreign_connection as rule

test_deny_other_teams_connection_via_default_args if {
	inp := fixtures.dag({}, [fixtures.task({"connections": [fixtures.conn("team_b_warehouse", "attribute")]})])
	rule.violation == {{
		"rule": "connections.foreign_connection",
		"title": "Connection the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' uses connection 'team_b_warehouse' (attribute, conn_id), which team 'team_a' may not use: ",
			"it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Use a connection your team owns or a global one, or ask the owning team to share it with your team",
			"in the registry.",
		]),
		"details": {"conn_id": "team_b_warehouse", "source": "attribute", "location": "conn_id", "owners": ["team_b"]},
		"action": "deny",
	}} with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_deny_connection_in_dag_callback_or_watcher if {
	refs := [fixtures.conn("team_b_warehouse", "callback"), fixtures.conn("nobody", "watcher")]
	inp := fixtures.dag({"connections": refs}, [])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	{[v.task_id, v.details.conn_id, v.details.owners] | some v in violations} == {
		[null, "team_b_warehouse", ["team_b"]],
		[null, "nobody", []],
	}
	every v in violations {
		startswith(v.message, "the DAG uses connection")
	}
}

test_deny_each_mapped_expand_value if {
	inp := fixtures.dag({}, [fixtures.task({"connections": [
		fixtures.conn("team_a_postgres", "mapped_expand"),
		fixtures.conn("team_b_warehouse", "mapped_expand"),
	]})])
	{v.details.conn_id | some v in rule.violation} == {"team_b_warehouse"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_everything_but_global_for_a_null_team if {
	inp := fixtures.dag_of(null, {}, [fixtures.task({"connections": [
		fixtures.conn("team_a_postgres", "attribute"),
		fixtures.conn("smtp_default", "attribute"),
	]})])
	{v.details.conn_id | some v in rule.violation} == {"team_a_postgres"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_global_and_shared_connections if {
	inp := fixtures.dag({}, [fixtures.task({"connections": [
		fixtures.conn("team_a_postgres", "attribute"),
		fixtures.conn("smtp_default", "template"),
		fixtures.conn("team_b_api", "template"),
	]})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_allow_unverifiable_reference_is_left_to_its_rule if {
	ref := {"conn_id": null, "verifiable": false, "raw": "{{ x }}", "source": "attribute", "location": "conn_id"}
	rule.violation == set() with input as fixtures.dag({}, [fixtures.task({"connections": [ref]})])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_and_shared if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_and_shared
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_borrowed_everywhere if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_borrowed_everywhere
		with data.airflow_policies.registry as fixtures.registry
}
