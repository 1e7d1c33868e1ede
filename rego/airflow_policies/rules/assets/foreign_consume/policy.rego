# METADATA
# title: Asset the team may not consume
# description: |
#   A DAG is scheduled on, or a task reads (inlet), an asset that is neither its team's, nor global, nor
#   shared with the team by its owner.
# custom:
#   id: assets.foreign_consume
#   remediation: Consume your team's assets, global ones, or ask the owning team to share the asset prefix.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.assets.foreign_consume

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), ref.task_id, message, details) if {
	some ref in _consumed
	key := team.asset_key(ref.asset)
	not team.has_prefix(key, team.consumable_asset_prefixes)
	message := sprintf("%s consumes asset '%s' (%s), which %s may not consume", [
		ref.where, key, ref.asset.kind, team.label,
	])
	details := {"asset": key, "kind": ref.asset.kind}
}

_consumed contains {"task_id": null, "where": "the DAG's schedule", "asset": asset} if {
	some asset in input.dag.schedule_assets
}

_consumed contains {"task_id": task.task_id, "where": sprintf("task '%s'", [task.task_id]), "asset": asset} if {
	some task in input.tasks
	some asset in task.inlets
}
