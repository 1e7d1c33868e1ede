package airflow_policies.rules.triggers.unlisted_trigger_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.triggers.unlisted_trigger as rule

_deferring(triggers) := fixtures.dag({}, [fixtures.task({"triggers": triggers})])

_watched(trigger, callables) := {
	"kind": "asset", "name": "s3://team-a/in", "uri": "s3://team-a/in", "group": "asset",
	"type": "airflow.sdk.definitions.asset.Asset", "access_control": null,
	"watchers": [{"name": "w", "trigger": trigger, "connections": [], "callables": callables}],
}

test_deny_a_deferral_to_an_unlisted_trigger_class if {
	violations := rule.violation with input as _deferring([fixtures.trigger("team_b_triggers.Probe", [])])
		with data.airflow_policies.registry as fixtures.registry
	[v.message | some v in violations] == [concat("", [
		"task 't1' defers to trigger 'team_b_triggers.Probe', which team 'team_a' may not run: ",
		"it is not in its triggers",
	])]
}

test_deny_a_callback_trigger_told_to_import_an_unlisted_callable if {
	refs := [fixtures.trigger("airflow.triggers.callback.CallbackTrigger", ["os.system", "team_a_callbacks.alert"])]
	violations := rule.violation with input as _deferring(refs) with data.airflow_policies.registry as fixtures.registry
	[v.details | some v in violations] == [{
		"trigger": "airflow.triggers.callback.CallbackTrigger", "callable": "os.system",
		"location": "Execution API PATCH /task-instances/{task_instance_id}/state",
	}]
}

test_deny_a_deferral_whose_kwargs_cannot_be_read if {
	ref := object.union(fixtures.trigger("team_a_triggers.Probe", []), {"verifiable": false})
	[v.message | some v in rule.violation] == [
		"task 't1' defers to trigger 'team_a_triggers.Probe' with kwargs that cannot be read, so it cannot be checked",
	] with input as _deferring([ref]) with data.airflow_policies.registry as fixtures.registry
}

test_deny_a_watcher_running_an_unlisted_trigger_or_callable if {
	assets := [_watched("team_b_triggers.Poll", []), _watched("airflow.triggers.callback.CallbackTrigger", ["os.system"])]
	violations := rule.violation with input as fixtures.dag({"schedule_assets": assets}, [])
		with data.airflow_policies.registry as fixtures.registry
	{[v.details.trigger, object.get(v.details, "callable", null)] | some v in violations} == {
		["team_b_triggers.Poll", null],
		["airflow.triggers.callback.CallbackTrigger", "os.system"],
	}
}

test_allow_listed_triggers_and_callables_by_name_or_module_prefix if {
	refs := [
		fixtures.trigger("team_a_triggers.sub.Probe", ["team_a_callbacks.alert", "shared_callbacks.notify"]),
		fixtures.trigger("airflow.providers.standard.triggers.file.FileDeleteTrigger", []),
		fixtures.trigger("airflow.triggers.callback.CallbackTrigger", ["team_a_callbacks.x.y"]),
	]
	inp := object.union(_deferring(refs), {"dag": object.union(
		fixtures.dag({}, []).dag,
		{"schedule_assets": [_watched("airflow.providers.standard.triggers.file.FileDeleteTrigger", [])]},
	)})
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_a_prefix_without_its_dot_lists_nothing_under_it if {
	# "shared_callbacks.notify" lists that callable only, not "shared_callbacks.notify_all".
	refs := [fixtures.trigger("airflow.triggers.callback.CallbackTrigger", ["shared_callbacks.notify_all"])]
	count(rule.violation) == 1 with input as _deferring(refs) with data.airflow_policies.registry as fixtures.registry
}

test_a_team_without_a_registry_entry_may_run_only_global_triggers if {
	inp := fixtures.dag_of("team_c", {}, [fixtures.task({"triggers": [fixtures.trigger("team_a_triggers.Probe", [])]})])
	count(rule.violation) == 1 with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_watch_with_standard_trigger if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_watch_with_standard_trigger
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_watch_with_bundle_trigger if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_watch_with_bundle_trigger
		with data.airflow_policies.registry as fixtures.registry
}
