# METADATA
# title: Trigger the team may not run
# description: |
#   A task defers (at run time) to a trigger class, or an asset watcher runs one, that neither the team nor
#   the registry's global section lists; or the trigger's kwargs tell it to import a callable (Airflow's
#   CallbackTrigger callback_path, and any callable / *_callable / *_callback_path kwarg) that is not listed
#   either; or the deferral's kwargs cannot be read. A trigger's module is code the triggerer imports and runs.
# custom:
#   id: triggers.unlisted_trigger
#   remediation: >-
#     Defer to a trigger class (and name a callable) your team or the registry's global section lists in
#     triggers / trigger_callables, or ask the platform team to list it.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.triggers.unlisted_trigger

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task_id, message, details) if {
	some [task_id, ref] in _deferrals
	ref.verifiable
	not team.listed(ref.classpath, team.usable_triggers)
	message := sprintf("task '%s' defers to trigger '%s', which %s may not run: it is not in its triggers", [
		task_id, ref.classpath, team.label,
	])
	details := {"trigger": ref.classpath, "location": ref.location}
}

violation contains result.violation(rego.metadata.chain(), task_id, message, details) if {
	some [task_id, ref] in _deferrals
	ref.verifiable
	some path in ref.callables
	not team.listed(path, team.usable_trigger_callables)
	message := sprintf("task '%s' defers to trigger '%s' that would import '%s', which %s may not: %s", [
		task_id, ref.classpath, path, team.label, "it is not in its trigger_callables",
	])
	details := {"trigger": ref.classpath, "callable": path, "location": ref.location}
}

violation contains result.violation(rego.metadata.chain(), task_id, message, details) if {
	some [task_id, ref] in _deferrals
	not ref.verifiable
	message := sprintf("task '%s' defers to trigger '%s' with kwargs that cannot be read, so it cannot be checked", [
		task_id, ref.classpath,
	])
	details := {"trigger": ref.classpath, "location": ref.location}
}

violation contains result.violation(rego.metadata.chain(), null, message, details) if {
	some asset in input.dag.schedule_assets
	some watcher in asset.watchers
	not team.listed(watcher.trigger, team.usable_triggers)
	message := sprintf("watcher '%s' of asset '%s' runs trigger '%s', which %s may not run: %s", [
		watcher.name, team.asset_key(asset), watcher.trigger, team.label, "it is not in its triggers",
	])
	details := {"trigger": watcher.trigger, "watcher": watcher.name}
}

violation contains result.violation(rego.metadata.chain(), null, message, details) if {
	some asset in input.dag.schedule_assets
	some watcher in asset.watchers
	some path in object.get(watcher, "callables", [])
	not team.listed(path, team.usable_trigger_callables)
	message := sprintf("watcher '%s' of asset '%s' would import '%s', which %s may not: %s", [
		watcher.name, team.asset_key(asset), path, team.label, "it is not in its trigger_callables",
	])
	details := {"trigger": watcher.trigger, "watcher": watcher.name, "callable": path}
}

# Every trigger a task defers to, found in one pass over the tasks: only the run-time points send any, and a
# DAG of 10,000 tasks is read once, not once per check.
_deferrals := [[task.task_id, ref] | some task in input.tasks; some ref in task.triggers]
