# METADATA
# title: Queue the team may not use
# description: A task's queue is neither one of its team's queues nor a global one.
# custom:
#   id: queues.foreign_queue
#   remediation: >-
#     Use one of your team's queues or a global queue (or leave the default queue, which is routed to your
#     team's).
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.queues.foreign_queue

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	count(_foreign_queues) > 0
	some task in input.tasks
	task.queue in _foreign_queues
	owners := team.owners(data.airflow_policies.registry.teams, "queues", task.queue)
	message := sprintf("task '%s' runs on queue '%s', which %s may not use: %s", [
		task.task_id, task.queue, team.label, team.owners_label(owners),
	])
	details := {"queue": task.queue, "owners": sort(owners)}
}

# The queues of the DAG's tasks the team may not use, found in one pass: the tasks are only read again when
# there is one.
_foreign_queues := {task.queue | some task in input.tasks; is_string(task.queue)} - team.usable_queues
