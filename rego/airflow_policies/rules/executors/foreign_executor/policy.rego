# METADATA
# title: Executor the team may not use
# description: A task's executor is neither one of its team's executors nor a global one.
# custom:
#   id: executors.foreign_executor
#   remediation: Use an executor configured for your team or a global one, or leave executor unset.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.executors.foreign_executor

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	count(_foreign_executors) > 0
	some task in input.tasks
	task.executor in _foreign_executors
	owners := team.owners(data.airflow_policies.registry.teams, "executors", task.executor)
	message := sprintf("task '%s' runs on executor '%s', which %s may not use: %s", [
		task.task_id, task.executor, team.label, team.owners_label(owners),
	])
	details := {"executor": task.executor, "owners": sort(owners)}
}

# The executors of the DAG's tasks the team may not use, found in one pass: the tasks are only read again when
# there is one.
_foreign_executors := {task.executor | some task in input.tasks; is_string(task.executor)} - team.usable_executors
