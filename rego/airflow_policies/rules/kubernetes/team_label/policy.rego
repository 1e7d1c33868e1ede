# METADATA
# title: Label pods with their team
# description: |
#   A pod a KubernetesPodOperator launches, or the KubernetesExecutor's final pod, gets the label
#   registry kubernetes.team_label with its bundle's team as the value, overwriting any other value its
#   author set, so the cluster (network policies, quotas, audit) can tell whose pod it is. A task's
#   executor_config is left as written: its final pod is labelled by the pod_mutation_hook.
# custom:
#   id: kubernetes.team_label
#   action: deny
#   remediation: >-
#     Nothing to do: the team label is set from the bundle's team; do not set it yourself.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.kubernetes.team_label

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

# Most DAGs have no pod: then nothing else is looked at.
mutation contains result.mutations(rego.metadata.chain(), sort(task_ids), "pod_labels", labels) if {
	count(kubernetes.pods) > 0
	is_string(team.name)
	label := kubernetes.team_label
	task_ids := {entry.task_id |
		some entry in kubernetes.pods
		kubernetes.mutable(entry.pod)
		object.get(entry.pod.labels, label, null) != team.name
	}
	count(task_ids) > 0
	labels := {label: team.name}
}
