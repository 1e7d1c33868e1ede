# METADATA
# title: dag_id outside the team's namespace
# description: |
#   A DAG's dag_id must start with one of its team's dag_id prefixes. Airflow lets a bundle take over any
#   dag_id, including another team's; this rule is what stops that.
# custom:
#   id: dag_ids.namespace
#   remediation: Rename the DAG so its dag_id starts with one of your team's dag_id prefixes.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.dag_ids.namespace

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), null, message, details) if {
	team.record
	not team.has_prefix(input.dag.dag_id, team.dag_id_prefixes)
	message := sprintf("dag_id '%s' is outside the namespace of %s (prefixes: %v); %s", [
		input.dag.dag_id, team.label, concat(", ", sort(team.dag_id_prefixes)), _owners_text(_namespace_owners),
	])
	details := {"dag_id": input.dag.dag_id, "owners": sort(_namespace_owners)}
}

# A teamless DAG (only when teamless bundles are allowed) must stay out of every team's namespace.
violation contains result.violation(rego.metadata.chain(), null, message, details) if {
	input.bundle.team == null
	count(_namespace_owners) > 0
	message := sprintf("dag_id '%s' of a bundle with no team is in the namespace of %s", [
		input.dag.dag_id, team.listing(_namespace_owners),
	])
	details := {"dag_id": input.dag.dag_id, "owners": sort(_namespace_owners)}
}

_namespace_owners contains name if {
	some name, entry in data.airflow_policies.registry.teams
	team.has_prefix(input.dag.dag_id, entry.dag_id_prefixes)
}

_owners_text(owners) := sprintf("it is in the namespace of %s", [team.listing(owners)]) if count(owners) > 0

_owners_text(owners) := "no team owns that name" if count(owners) == 0
