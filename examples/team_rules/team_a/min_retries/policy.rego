# METADATA
# title: Team A wants retries
# description: Every task of team A's DAGs retries at least twice. A team layer, so it only tightens.
# custom:
#   action: deny
#   remediation: Set retries=2 or more on the task (or in default_args).
package airflow_policies.team_rules.team_a.min_retries

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), task.task_id, message, {"retries": task.retries}) if {
	some task in input.tasks
	task.retries < 2
	message := sprintf("task '%s' has %d retries; team A's DAGs retry at least twice", [task.task_id, task.retries])
}
