# METADATA
# title: Cross-team DAG reference
# description: |
#   A task triggers (TriggerDagRunOperator) or waits for (ExternalTaskSensor) a DAG outside its team's
#   dag_id namespace that the owning team does not share with it; at run time (execution_api) also a task
#   that triggers or clears such a DAG's run or reads its state (runs, task states, DAG details), and code
#   served by a triggerer or the DAG processor that uses such a DAG's XComs or acts on its task instances.
# custom:
#   id: cross_dag.foreign_target
#   remediation: Reference your team's DAGs only, or ask the owning team to share the DAG (shares.dag_ids).
#   severity: high
#   action: deny
#   version: 1.2.0
package airflow_policies.rules.cross_dag.foreign_target

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

_verbs := {
	"trigger": "triggers",
	"external_sensor": "waits for",
	"clear": "clears a run of",
	"state": "reads the state of",
	"xcom": "uses the XComs of",
	"task_instance": "acts on a task instance of",
}

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	some task in input.tasks
	some ref in task.dag_refs
	ref.verifiable
	not team.has_prefix(ref.dag_id, team.dag_id_prefixes)
	not ref.dag_id in team.shared_dag_ids
	message := sprintf("task '%s' %s DAG '%s', which is outside the namespace of %s and not shared with it", [
		task.task_id, object.get(_verbs, ref.kind, "references"), ref.dag_id, team.label,
	])
	details := {"dag_id": ref.dag_id, "kind": ref.kind}
}
