# METADATA
# title: Bundle without a team
# description: The DAG's bundle is mapped to no team, and the registry does not allow teamless bundles.
# custom:
#   id: bundles.teamless_bundle
#   remediation: >-
#     Map the bundle to its team with team_name in [dag_processor] dag_bundle_config_list (multi_team on)
#     or in [airflow_policies] bundle_teams, or set teamless_bundles to allow in the registry.
#   severity: high
#   action: deny
#   version: 1.0.1
package airflow_policies.rules.bundles.teamless_bundle

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), null, message, {"bundle": input.bundle.name}) if {
	input.bundle.team == null
	not _allowed
	message := sprintf("bundle '%v' has no team, so its DAGs cannot be checked against team boundaries", [
		input.bundle.name,
	])
}

_allowed if data.airflow_policies.registry.teamless_bundles == "allow"
