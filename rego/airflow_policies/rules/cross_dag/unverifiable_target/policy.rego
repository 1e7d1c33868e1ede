# METADATA
# title: DAG reference not known at parse time
# description: A task triggers or waits for a DAG whose id is templated or computed at run time.
# custom:
#   id: cross_dag.unverifiable_target
#   remediation: Write the target dag_id as a literal string.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.cross_dag.unverifiable_target

import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), task.task_id, message, {"raw": ref.raw}) if {
	some task in input.tasks
	some ref in task.dag_refs
	not ref.verifiable
	message := sprintf("task '%s' chooses its target DAG at run time (%s: %s), so it cannot be checked", [
		task.task_id, ref.location, ref.raw,
	])
}
