# METADATA
# title: Asset produced outside the team's namespace
# description: A task's outlet (asset, alias or reference) is outside its team's own asset prefixes.
# custom:
#   id: assets.produce_outside_namespace
#   remediation: Produce only into your team's asset prefixes; other teams publish their own assets.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.assets.produce_outside_namespace

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	some task in input.tasks
	some asset in task.outlets
	key := team.asset_key(asset)
	not team.has_prefix(key, team.own_asset_prefixes)
	message := sprintf("task '%s' produces asset '%s' (%s) outside the asset namespace of %s (%v)", [
		task.task_id, key, asset.kind, team.label, concat(", ", sort(team.own_asset_prefixes)),
	])
	details := {"asset": key, "kind": asset.kind}
}
