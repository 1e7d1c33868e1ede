# METADATA
# title: Service account the team may not use
# description: |
#   A task's pod runs as a Kubernetes service account that is neither one of its team's nor a global one
#   (Kubernetes' "default" account is a name like any other: allowed only where the registry lists it).
# custom:
#   id: kubernetes.foreign_service_account
#   remediation: >-
#     Leave service_account_name unset (your team's default service account is set for you) or use one of
#     your team's service accounts.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_service_account

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	account := entry.pod.service_account
	is_string(account)
	not account in kubernetes.usable_service_accounts
	owners := kubernetes.owners(data.airflow_policies.registry.teams, "service_accounts", account)
	message := sprintf("task '%s' runs a pod %s as service account '%s', which %s may not use: %s", [
		entry.task_id, kubernetes.pod_label(entry.pod), account, team.label, team.owners_label(owners),
	])
	details := {
		"service_account": account, "source": entry.pod.source, "location": entry.pod.location,
		"owners": sort(owners),
	}
}
