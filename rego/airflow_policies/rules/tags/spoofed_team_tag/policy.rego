# METADATA
# title: Tag naming another team
# description: A DAG tag of the form team:<name> names a team other than the one its bundle belongs to.
# custom:
#   id: tags.spoofed_team_tag
#   remediation: Remove the team:<name> tag; the policy stamps the right one from the bundle's team.
#   severity: medium
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.tags.spoofed_team_tag

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), null, message, {"tag": tag}) if {
	some tag in input.dag.tags
	startswith(tag, "team:")
	substring(tag, 5, -1) != team.name
	message := sprintf("tag '%s' claims a team, but the DAG belongs to %s (from its bundle '%v')", [
		tag, team.label, input.bundle.name,
	])
}
