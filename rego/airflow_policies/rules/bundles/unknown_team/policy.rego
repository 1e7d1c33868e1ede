# METADATA
# title: Team missing from the registry
# description: The bundle's team is not in the registry, so nothing can be known about what it owns.
# custom:
#   id: bundles.unknown_team
#   remediation: Add the team to the registry (teams.<name>) with what it owns.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.bundles.unknown_team

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), null, message, {"team": team.name}) if {
	is_string(team.name)
	not team.record
	message := sprintf("team '%s' of bundle '%v' is not in the team registry", [team.name, input.bundle.name])
}
