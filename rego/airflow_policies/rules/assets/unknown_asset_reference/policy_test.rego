package airflow_policies.rules.assets.unknown_asset_reference_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.assets.unknown_asset_reference as rule

_unknown := object.union(fixtures.asset("unknown", "'file.txt'", null), {"type": "builtins.str"})

test_deny_unknown_outlet if {
	violations := rule.violation with input as fixtures.dag({}, [fixtures.task({"outlets": [_unknown]})])
	[v.message | some v in violations] == ["task 't1' lists an unrecognised lineage object of type 'builtins.str'"]
}

test_deny_unknown_schedule_leaf if {
	violations := rule.violation with input as fixtures.dag({"schedule_assets": [_unknown]}, [])
	[v.task_id | some v in violations] == [null]
}

test_allow_known_kinds if {
	inp := fixtures.dag({"schedule_assets": [fixtures.asset("uri_ref", null, "s3://x")]}, [fixtures.task({
		"inlets": [fixtures.asset("name_ref", "n", null)],
		"outlets": [fixtures.asset("alias", "a", null), fixtures.asset("state_store", "n", "s3://x")],
	})])
	rule.violation == set() with input as inp
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_asset_outlet if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_asset_outlet
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_string_inlet if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_string_inlet
		with data.airflow_policies.registry as fixtures.registry
}
