# METADATA
# title: Unrecognised asset reference
# description: A schedule, inlet or outlet holds an object the policy cannot identify as an asset, alias or reference.
# custom:
#   id: assets.unknown_asset_reference
#   remediation: Use airflow.sdk Asset, AssetAlias or Asset.ref(...) objects in schedules, inlets and outlets.
#   severity: medium
#   action: deny
#   version: 1.1.0
package airflow_policies.rules.assets.unknown_asset_reference

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), null, message, {"type": asset.type}) if {
	some asset in input.dag.schedule_assets
	not _identified(asset)
	message := sprintf("the DAG's schedule holds an unrecognised object of type '%s'", [asset.type])
}

violation contains result.violation(rego.metadata.chain(), task.task_id, message, {"type": asset.type}) if {
	_any_unidentified_lineage
	some task in input.tasks
	some asset in array.concat(task.inlets, task.outlets)
	not _identified(asset)
	message := sprintf("task '%s' lists an unrecognised lineage object of type '%s'", [task.task_id, asset.type])
}

_kinds := {"asset", "alias", "name_ref", "uri_ref", "state_store"}

_identified(asset) if asset.kind in _kinds

_lineage_kinds contains object.get(asset, "kind", null) if {
	some task in input.tasks
	some asset in task.inlets
}

_lineage_kinds contains object.get(asset, "kind", null) if {
	some task in input.tasks
	some asset in task.outlets
}

# One pass over the lineage of every task (an entry without a kind is unidentified): the tasks are only read
# again when some entry is not an asset, alias or reference.
_any_unidentified_lineage if count(_lineage_kinds - _kinds) > 0
