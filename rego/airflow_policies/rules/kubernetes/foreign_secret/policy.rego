# METADATA
# title: Secret the team may not use
# description: |
#   A task's pod reads a Kubernetes Secret (volume, projected volume, env, envFrom, imagePullSecrets or the
#   operator's secrets) that its team does not own, that is not global and that no team shares with it.
# custom:
#   id: kubernetes.foreign_secret
#   remediation: >-
#     Read your team's Secrets or global ones, or ask the owning team to share the Secret with your team
#     (shares kubernetes_secrets in the registry).
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_secret

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	some ref in entry.pod.secrets
	not ref.name in kubernetes.usable_secrets
	owners := kubernetes.owners(data.airflow_policies.registry.teams, "secrets", ref.name)
	message := sprintf("task '%s' reads Secret '%s' (%s, %s) in a pod %s, which %s may not use: %s", [
		entry.task_id, ref.name, ref.via, ref.location, kubernetes.pod_label(entry.pod), team.label,
		team.owners_label(owners),
	])
	details := {
		"secret": ref.name, "via": ref.via, "reference": ref.location, "source": entry.pod.source,
		"location": entry.pod.location, "owners": sort(owners),
	}
}
