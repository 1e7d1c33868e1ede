package airflow_policies.rules.cross_dag.unverifiable_target_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.cross_dag.unverifiable_target as rule

test_deny_templated_target if {
	ref := {"dag_id": null, "kind": "trigger", "verifiable": false, "raw": "{{ params.t }}", "location": "trigger_dag_id"}
	violations := rule.violation with input as fixtures.dag({}, [fixtures.task({"dag_refs": [ref]})])
	[v.details.raw | some v in violations] == ["{{ params.t }}"]
}

test_allow_literal_target if {
	ref := {"dag_id": "x", "kind": "trigger", "verifiable": true, "raw": "x", "location": "trigger_dag_id"}
	rule.violation == set() with input as fixtures.dag({}, [fixtures.task({"dag_refs": [ref]})])
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_literal_target if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_literal_target
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_templated_target if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_templated_target
		with data.airflow_policies.registry as fixtures.registry
}
