# METADATA
# title: Namespace the team may not use
# description: |
#   A task's pod (its executor_config, its KubernetesPodOperator's pod, or the KubernetesExecutor's final pod)
#   runs in a Kubernetes namespace that is neither one of its team's nor a global one.
# custom:
#   id: kubernetes.foreign_namespace
#   remediation: >-
#     Leave namespace unset (your team's default namespace is set for you) or use one of your team's
#     namespaces.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_namespace

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	namespace := entry.pod.namespace
	is_string(namespace)
	not namespace in kubernetes.usable_namespaces
	owners := kubernetes.owners(data.airflow_policies.registry.teams, "namespaces", namespace)
	message := sprintf("task '%s' runs a pod %s in namespace '%s', which %s may not use: %s", [
		entry.task_id, kubernetes.pod_label(entry.pod), namespace, team.label, team.owners_label(owners),
	])
	details := {
		"namespace": namespace, "source": entry.pod.source, "location": entry.pod.location,
		"owners": sort(owners),
	}
}
