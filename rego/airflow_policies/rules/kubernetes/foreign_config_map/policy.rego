# METADATA
# title: ConfigMap the team may not use
# description: |
#   A task's pod reads a Kubernetes ConfigMap (volume, projected volume, env, envFrom or the operator's
#   arguments) that its team does not own, that is not global and that no team shares with it.
# custom:
#   id: kubernetes.foreign_config_map
#   remediation: >-
#     Read your team's ConfigMaps or global ones, or ask the owning team to share the ConfigMap with your team
#     (shares kubernetes_config_maps in the registry).
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_config_map

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	some ref in entry.pod.config_maps
	not ref.name in kubernetes.usable_config_maps
	owners := kubernetes.owners(data.airflow_policies.registry.teams, "config_maps", ref.name)
	message := sprintf("task '%s' reads ConfigMap '%s' (%s, %s) in a pod %s, which %s may not use: %s", [
		entry.task_id, ref.name, ref.via, ref.location, kubernetes.pod_label(entry.pod), team.label,
		team.owners_label(owners),
	])
	details := {
		"config_map": ref.name, "via": ref.via, "reference": ref.location, "source": entry.pod.source,
		"location": entry.pod.location, "owners": sort(owners),
	}
}
