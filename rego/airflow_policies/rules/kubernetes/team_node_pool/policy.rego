# METADATA
# title: Schedule pods on the team's node pool
# description: |
#   A pod a KubernetesPodOperator launches, or the KubernetesExecutor's final pod, that chooses no node pool
#   (no nodeSelector entry and no node affinity expression for the registry's kubernetes.node_pool_label)
#   gets a nodeSelector for its team's default node pool. A task's executor_config is left as written: its
#   final pod is changed by the pod_mutation_hook.
# custom:
#   id: kubernetes.team_node_pool
#   action: deny
#   remediation: >-
#     Select one of your team's node pools yourself (nodeSelector or node affinity on the node pool label);
#     a pod that selects none always gets your team's default one.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.kubernetes.team_node_pool

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

# Most DAGs have no pod: then nothing else is looked at.
mutation contains result.mutations(rego.metadata.chain(), sort(task_ids), "pod_node_selector", selector) if {
	count(kubernetes.pods) > 0
	pool := team.record.kubernetes.default_node_pool
	is_string(pool)
	label := kubernetes.node_pool_label
	task_ids := {entry.task_id |
		some entry in kubernetes.pods
		kubernetes.mutable(entry.pod)
		not kubernetes.chooses_node_pool(entry.pod, label)
	}
	count(task_ids) > 0
	selector := {label: pool}
}
