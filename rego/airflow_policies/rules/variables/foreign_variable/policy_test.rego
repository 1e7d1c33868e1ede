package airflow_policies.rules.variables.foreign_variable_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.variables.foreign_variable as rule

_var(key) := {"key": key, "verifiable": true, "raw": key, "source": "template", "location": "bash_command"}

test_deny_unshared_variable if {
	inp := fixtures.dag({}, [fixtures.task({"variables": [_var("secret_b")]})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [
		"task 't1' reads Variable 'secret_b' (bash_command), which team 'team_a' may not use: no team owns it",
	]
}

test_allow_own_global_and_shared_variables if {
	inp := fixtures.dag({}, [fixtures.task({"variables": [
		_var("team_a_threshold"),
		_var("environment_name"),
		_var("team_b_api_base"),
	]})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

_write(key) := object.union(_var(key), {"source": "runtime_write", "location": "Execution API write"})

test_deny_write_of_global_shared_and_foreign_variables if {
	inp := fixtures.dag({}, [fixtures.task({"variables": [
		_write("environment_name"),
		_write("team_b_api_base"),
		_write("team_b_token"),
	]})])
	violations := rule.violation with input as inp with data.airflow_policies.registry as fixtures.registry
	{v.message | some v in violations} == {
		sprintf("task 't1' writes Variable 'environment_name' %s: no team owns it", [_not_own]),
		sprintf("task 't1' writes Variable 'team_b_api_base' %s: it belongs to team 'team_b'", [_not_own]),
		sprintf("task 't1' writes Variable 'team_b_token' %s: it belongs to team 'team_b'", [_not_own]),
	}
}

_not_own := "(Execution API write), which is not a Variable of team 'team_a'"

test_allow_write_of_own_variable if {
	inp := fixtures.dag({}, [fixtures.task({"variables": [_write("team_a_threshold")]})])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_deny_write_for_null_team if {
	inp := fixtures.dag_of(null, {}, [fixtures.task({"variables": [_write("environment_name")]})])
	count(rule.violation) == 1 with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_deny_for_null_team if {
	inp := fixtures.dag_of(null, {}, [fixtures.task({"variables": [_var("team_a_threshold")]})])
	count(rule.violation) == 1 with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_variable if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_variable
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_team_b_variable if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_team_b_variable
		with data.airflow_policies.registry as fixtures.registry
}
