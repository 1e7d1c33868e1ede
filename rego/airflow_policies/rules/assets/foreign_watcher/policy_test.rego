package airflow_policies.rules.assets.foreign_watcher_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.assets.foreign_watcher as rule

_watched(uri) := object.union(
	fixtures.asset("asset", uri, uri),
	{"watchers": [{"name": "w", "trigger": "T", "connections": []}]},
)

test_deny_watcher_on_shared_asset if {
	inp := fixtures.dag({"schedule_assets": [_watched("s3://team-b/public/prices")]}, [])
	[v.details | some v in rule.violation] == [{"asset": "s3://team-b/public/prices", "watchers": ["w"]}]
		with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_watcher_on_own_asset if {
	rule.violation == set() with input as fixtures.dag({"schedule_assets": [_watched("s3://team-a/in")]}, [])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_unwatched_shared_asset if {
	inp := fixtures.dag({"schedule_assets": [fixtures.asset("asset", "s3://team-b/public/p", "s3://team-b/public/p")]}, [])
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_watch_own_asset if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_watch_own_asset
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_watch_team_b_asset if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_watch_team_b_asset
		with data.airflow_policies.registry as fixtures.registry
}
