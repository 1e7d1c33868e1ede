# METADATA
# title: Connection the team may not use
# description: |
#   A task (attribute, template, mapped expand or notifier) or a DAG callback or asset watcher names a
#   connection that its team does not own, that is not global, and that nobody shares with the team.
# custom:
#   id: connections.foreign_connection
#   remediation: >-
#     Use a connection your team owns or a global one, or ask the owning team to share it with your team
#     in the registry.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.connections.foreign_connection

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), ref.task_id, message, details) if {
	some ref in _foreign_references
	owners := team.owners(data.airflow_policies.registry.teams, "connections", ref.conn_id)
	message := sprintf("%s uses connection '%s' (%s, %s), which %s may not use: %s", [
		_where(ref.task_id), ref.conn_id, ref.source, ref.location, team.label, team.owners_label(owners),
	])
	details := {"conn_id": ref.conn_id, "source": ref.source, "location": ref.location, "owners": sort(owners)}
}

# The connection ids the DAG names that the team may not use, found in one pass: the references are only
# read again when there is one.
_foreign_ids := ({ref.conn_id | some task in input.tasks; some ref in task.connections; ref.verifiable} | {ref.conn_id |
	some ref in input.dag.connections
	ref.verifiable
}) - team.usable_connections

_foreign_references contains object.union(ref, {"task_id": task.task_id}) if {
	count(_foreign_ids) > 0
	some task in input.tasks
	some ref in task.connections
	ref.verifiable
	ref.conn_id in _foreign_ids
}

_foreign_references contains object.union(ref, {"task_id": null}) if {
	some ref in input.dag.connections
	ref.verifiable
	ref.conn_id in _foreign_ids
}

_where(task_id) := sprintf("task '%s'", [task_id]) if task_id != null

_where(null) := "the DAG"
