# METADATA
# title: Image the team may not run
# description: |
#   A task's pod runs a container image that starts with none of its team's image prefixes nor a global
#   one (image_prefixes in the registry).
# custom:
#   id: kubernetes.foreign_image
#   remediation: >-
#     Use an image from one of your team's registries or a global one (image_prefixes), or ask the platform
#     team to add the prefix.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_image

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	some image in entry.pod.images
	not team.has_prefix(image, kubernetes.image_prefixes)
	owners := kubernetes.image_owners(data.airflow_policies.registry.teams, image)
	message := sprintf("task '%s' runs image '%s' in a pod %s, which %s may not use: %s", [
		entry.task_id, image, kubernetes.pod_label(entry.pod), team.label, team.owners_label(owners),
	])
	details := {"image": image, "source": entry.pod.source, "location": entry.pod.location, "owners": sort(owners)}
}
