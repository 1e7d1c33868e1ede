# METADATA
# title: Route to the team's pool
# description: A task left on Airflow's default pool is moved to its team's default pool.
# custom:
#   id: routing.team_pool
#   action: deny
#   remediation: >-
#     Set pool= to one of your team's pools to choose it yourself; the default pool always becomes your team's.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.routing.team_pool

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

mutation contains result.mutations(rego.metadata.chain(), task_ids, "pool", team.record.default_pool) if {
	is_string(team.record.default_pool)
	task_ids := [task.task_id | some task in input.tasks; task.pool == input.airflow.default_pool]
	count(task_ids) > 0
}
