# METADATA
# title: Watcher on another team's asset
# description: A schedule asset carries watchers but is not in the team's own asset namespace.
# custom:
#   id: assets.foreign_watcher
#   remediation: Attach watchers only to your team's assets; ask the owning team to watch theirs.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.assets.foreign_watcher

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), null, message, details) if {
	some asset in input.dag.schedule_assets
	count(asset.watchers) > 0
	key := team.asset_key(asset)
	not team.has_prefix(key, team.own_asset_prefixes)
	watchers := sort([w.name | some w in asset.watchers])
	message := sprintf("the DAG attaches watchers %v to asset '%s', which is outside the namespace of %s", [
		watchers, key, team.label,
	])
	details := {"asset": key, "watchers": watchers}
}
