# METADATA
# title: Pod template the team may not use
# description: |
#   A task's executor_config names a pod_template_file that is neither one of its team's nor a global one
#   (pod_template_files in the registry). A template sets everything a pod is: namespace, service account,
#   volumes, node selection.
# custom:
#   id: kubernetes.foreign_pod_template
#   remediation: >-
#     Use one of your team's pod template files, or leave pod_template_file unset.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_pod_template

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	path := entry.pod.pod_template_file
	is_string(path)
	not path in kubernetes.usable_pod_template_files
	owners := kubernetes.owners(data.airflow_policies.registry.teams, "pod_template_files", path)
	message := sprintf("task '%s' uses pod template file '%s' %s, which %s may not use: %s", [
		entry.task_id, path, kubernetes.pod_label(entry.pod), team.label, team.owners_label(owners),
	])
	details := {
		"pod_template_file": path, "source": entry.pod.source, "location": entry.pod.location,
		"owners": sort(owners),
	}
}
