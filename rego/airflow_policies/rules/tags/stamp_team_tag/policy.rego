# METADATA
# title: Stamp the team tag
# description: Adds the tag team:<name> of the bundle's team to the DAG, so the UI can filter by team.
# custom:
#   id: tags.stamp_team_tag
#   action: deny
#   remediation: >-
#     Nothing to do: the team tag is stamped from the bundle's team; do not write team:<name> tags yourself.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.tags.stamp_team_tag

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

mutation contains result.mutation(rego.metadata.chain(), null, "tags", sort(tags)) if {
	team.record

	# concat, not sprintf: OPA's Wasm target has no sprintf of its own, and this runs for every DAG.
	tag := concat("", ["team:", team.name])
	not tag in input.dag.tags
	tags := {t | some t in input.dag.tags} | {tag}
}
