# METADATA
# title: Variable the team may not use
# description: |
#   A templated field (or, at run time, the task) reads a Variable that its team does not own, that is not
#   global and not shared; or a running task writes or deletes a Variable its team does not own.
# custom:
#   id: variables.foreign_variable
#   remediation: >-
#     Read a Variable your team owns or a global one, or ask the owning team to share it; write and delete
#     only your team's own Variables.
#   severity: high
#   action: deny
#   version: 1.1.0
package airflow_policies.rules.variables.foreign_variable

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	count(_foreign_keys) > 0
	some task in input.tasks
	some ref in task.variables
	ref.source != "runtime_write"
	ref.verifiable
	ref.key in _foreign_keys
	owners := team.owners(data.airflow_policies.registry.teams, "variables", ref.key)
	message := sprintf("task '%s' reads Variable '%s' (%s), which %s may not use: %s", [
		task.task_id, ref.key, ref.location, team.label, team.owners_label(owners),
	])
	details := {"key": ref.key, "location": ref.location, "owners": sort(owners)}
}

# A write changes the Variable for everyone who reads it: sharing it or making it global lets others read it,
# never write it.
violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	some task in input.tasks
	some ref in task.variables
	ref.source == "runtime_write"
	not ref.key in team.own_variables
	owners := team.owners(data.airflow_policies.registry.teams, "variables", ref.key)
	message := sprintf("task '%s' writes Variable '%s' (%s), which is not a Variable of %s: %s", [
		task.task_id, ref.key, ref.location, team.label, team.owners_label(owners),
	])
	details := {"key": ref.key, "location": ref.location, "owners": sort(owners)}
}

# The Variable keys the DAG reads (not writes) that the team may not use, found in one pass: the references
# are only read again when there is one.
_foreign_keys := {ref.key |
	some task in input.tasks
	some ref in task.variables
	ref.source != "runtime_write"
	ref.verifiable
} - team.usable_variables
