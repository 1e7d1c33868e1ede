# METADATA
# title: Run pods as the team's service account
# description: |
#   A pod a KubernetesPodOperator launches, or the KubernetesExecutor's final pod, with no service account or
#   Kubernetes' "default" one gets its team's default service account. A task's executor_config is left as
#   written: its final pod is changed by the pod_mutation_hook.
# custom:
#   id: kubernetes.team_service_account
#   action: deny
#   remediation: >-
#     Set service_account_name to one of your team's service accounts to choose it yourself; an unset or
#     "default" service account always becomes your team's.
#   severity: low
#   version: 1.0.0
package airflow_policies.rules.kubernetes.team_service_account

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

# Most DAGs have no pod: then nothing else is looked at.
mutation contains result.mutations(rego.metadata.chain(), sort(task_ids), "pod_service_account", account) if {
	count(kubernetes.pods) > 0
	account := team.record.kubernetes.default_service_account
	is_string(account)
	task_ids := {entry.task_id |
		some entry in kubernetes.pods
		kubernetes.moves_service_account(entry.pod)
		entry.pod.service_account != account
	}
	count(task_ids) > 0
}
