package airflow_policies.rules.variables.unverifiable_variable_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.variables.unverifiable_variable as rule

test_deny_dynamic_variable_key if {
	ref := {"key": null, "verifiable": false, "raw": "{{ var.value[params.k] }}", "source": "template", "location": "sql"}
	violations := rule.violation with input as fixtures.dag({}, [fixtures.task({"variables": [ref]})])
	[v.details.raw | some v in violations] == ["{{ var.value[params.k] }}"]
}

test_allow_literal_variable_key if {
	ref := {"key": "k", "verifiable": true, "raw": "{{ var.value.k }}", "source": "template", "location": "sql"}
	rule.violation == set() with input as fixtures.dag({}, [fixtures.task({"variables": [ref]})])
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_literal_variable if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_literal_variable
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_computed_variable if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_computed_variable
		with data.airflow_policies.registry as fixtures.registry
}
