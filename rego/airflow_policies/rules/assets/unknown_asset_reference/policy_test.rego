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
		"outlets": [fixtures.asset("alias", "a", null)],
	})])
	rule.violation == set() with input as inp
}
