package airflow_policies.rules.connections.unverifiable_conn_id_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.connections.unverifiable_conn_id as rule

_templated := {
	"conn_id": null, "verifiable": false, "raw": "{{ var.value.which }}",
	"source": "attribute", "location": "conn_id",
}

test_deny_templated_conn_id if {
	violations := rule.violation with input as fixtures.dag({}, [fixtures.task({"connections": [_templated]})])
	[v.message | some v in violations] == [
		"task 't1' chooses its connection at run time (attribute, conn_id: {{ var.value.which }}), so it cannot be checked",
	]
}

test_deny_unverifiable_dag_level_reference if {
	violations := rule.violation with input as fixtures.dag({"connections": [_templated]}, [])
	[v.task_id | some v in violations] == [null]
}

test_allow_literal_conn_id if {
	inp := fixtures.dag({}, [fixtures.task({"connections": [fixtures.conn("x", "attribute")]})])
	rule.violation == set() with input as inp
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_literal_conn_id if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_literal_conn_id
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_templated_conn_id if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_templated_conn_id
		with data.airflow_policies.registry as fixtures.registry
}
