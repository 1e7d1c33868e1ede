# METADATA
# title: Variable key not known at parse time
# description: A template reads a Variable whose key is computed at run time, so the policy cannot tell whose it is.
# custom:
#   id: variables.unverifiable_variable
#   remediation: Write the Variable key literally, e.g. {{ var.value.my_key }}.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.variables.unverifiable_variable

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), task.task_id, message, {"raw": ref.raw}) if {
	_any_unverifiable
	some task in input.tasks
	some ref in task.variables
	not ref.verifiable
	message := sprintf("task '%s' reads a Variable chosen at run time (%s: %s), so it cannot be checked", [
		task.task_id, ref.location, ref.raw,
	])
}

# One pass over the references (one without the flag counts as unverifiable): they are only read again when
# one is not verifiable.
_any_unverifiable if {
	flags := {object.get(ref, "verifiable", false) | some task in input.tasks; some ref in task.variables}
	count(flags - {true}) > 0
}
