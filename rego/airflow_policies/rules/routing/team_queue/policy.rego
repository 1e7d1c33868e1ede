# METADATA
# title: Route to the team's queue
# description: A task left on Airflow's default queue is moved to its team's default queue.
# custom:
#   id: routing.team_queue
#   action: deny
#   remediation: >-
#     Set queue= to one of your team's queues to choose it yourself; the default queue always becomes your team's.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.routing.team_queue

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

mutation contains result.mutations(rego.metadata.chain(), task_ids, "queue", team.record.default_queue) if {
	is_string(team.record.default_queue)
	task_ids := [task.task_id | some task in input.tasks; task.queue == input.airflow.default_queue]
	count(task_ids) > 0
}
