# METADATA
# title: Asset produced outside the team's namespace
# description: |
#   A task's outlet (asset, alias or reference) is outside its team's own asset prefixes; at run time
#   (execution_api) also an asset the task reports an event for when it finishes (declared, or added through
#   an AssetAlias), and an asset whose state store the task reads or writes.
# custom:
#   id: assets.produce_outside_namespace
#   remediation: >-
#     Produce into (and keep state for) your team's asset prefixes only; other teams publish their own assets.
#   severity: high
#   action: deny
#   version: 1.1.0
package airflow_policies.rules.assets.produce_outside_namespace

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	some task in input.tasks
	some asset in task.outlets
	asset.kind != "state_store"
	key := team.asset_key(asset)
	not team.has_prefix(key, team.own_asset_prefixes)
	message := sprintf("task '%s' produces asset '%s' (%s) outside the asset namespace of %s (%v)", [
		task.task_id, key, asset.kind, team.label, concat(", ", sort(team.own_asset_prefixes)),
	])
	details := {"asset": key, "kind": asset.kind}
}

# The state store of an asset is its owner's, as producing it is: reads included, shared prefixes excluded.
violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	some task in input.tasks
	some asset in task.outlets
	asset.kind == "state_store"
	key := team.asset_key(asset)
	not team.has_prefix(key, team.own_asset_prefixes)
	message := sprintf("task '%s' uses the state store of asset '%s', outside the asset namespace of %s (%v)", [
		task.task_id, key, team.label, concat(", ", sort(team.own_asset_prefixes)),
	])
	details := {"asset": key, "kind": asset.kind}
}
