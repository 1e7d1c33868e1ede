# METADATA
# title: Move pods to the team's namespace
# description: |
#   A pod a KubernetesPodOperator launches, or the KubernetesExecutor's final pod, that sets no namespace or
#   the deployment's default one ([kubernetes_executor] namespace) is moved to its team's default namespace.
#   A task's executor_config is left as written: its final pod is moved by the pod_mutation_hook.
# custom:
#   id: kubernetes.team_namespace
#   action: deny
#   remediation: >-
#     Set namespace to one of your team's namespaces to choose it yourself; an unset or default namespace
#     always becomes your team's.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.kubernetes.team_namespace

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

# Most DAGs have no pod: then nothing else is looked at.
mutation contains result.mutations(rego.metadata.chain(), sort(task_ids), "pod_namespace", namespace) if {
	count(kubernetes.pods) > 0
	namespace := team.record.kubernetes.default_namespace
	is_string(namespace)
	task_ids := {entry.task_id |
		some entry in kubernetes.pods
		kubernetes.moves_namespace(entry.pod)
		entry.pod.namespace != namespace
	}
	count(task_ids) > 0
}
