# METADATA
# title: Connection id not known at parse time
# description: |
#   A connection id is a Jinja template, an XComArg or another value only known at run time, so the
#   policy cannot tell whose connection it is.
# custom:
#   id: connections.unverifiable_conn_id
#   remediation: Write the connection id as a literal string (one task per connection if needed).
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.connections.unverifiable_conn_id

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	_any_unverifiable
	some task in input.tasks
	some ref in task.connections
	not ref.verifiable
	message := sprintf("task '%s' chooses its connection at run time (%s, %s: %s), so it cannot be checked", [
		task.task_id, ref.source, ref.location, ref.raw,
	])
	details := {"raw": ref.raw, "source": ref.source, "location": ref.location}
}

violation contains result.violation(rego.metadata.chain(), null, message, details) if {
	some ref in input.dag.connections
	not ref.verifiable
	message := sprintf("the DAG chooses a connection at run time (%s, %s: %s), so it cannot be checked", [
		ref.source, ref.location, ref.raw,
	])
	details := {"raw": ref.raw, "source": ref.source, "location": ref.location}
}

# One pass over the task references (a reference without the flag counts as unverifiable): they are only
# read again when one is not verifiable.
_any_unverifiable if {
	flags := {object.get(ref, "verifiable", false) | some task in input.tasks; some ref in task.connections}
	count(flags - {true}) > 0
}
