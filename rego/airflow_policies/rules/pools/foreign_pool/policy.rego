# METADATA
# title: Pool the team may not use
# description: A task's pool is neither one of its team's pools nor a global one.
# custom:
#   id: pools.foreign_pool
#   remediation: >-
#     Use one of your team's pools or a global pool (or leave the default pool, which is routed to your
#     team's).
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.pools.foreign_pool

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	count(_foreign_pools) > 0
	some task in input.tasks
	task.pool in _foreign_pools
	owners := team.owners(data.airflow_policies.registry.teams, "pools", task.pool)
	message := sprintf("task '%s' runs on pool '%s', which %s may not use: %s", [
		task.task_id, task.pool, team.label, team.owners_label(owners),
	])
	details := {"pool": task.pool, "owners": sort(owners)}
}

# The pools of the DAG's tasks the team may not use, found in one pass: the tasks are only read again when
# there is one.
_foreign_pools := {task.pool | some task in input.tasks; is_string(task.pool)} - team.usable_pools
