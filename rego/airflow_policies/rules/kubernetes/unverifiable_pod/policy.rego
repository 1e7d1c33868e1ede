# METADATA
# title: Pod settings not known at parse time
# description: |
#   Some setting of a task's pod (namespace, service account, image, volumes, ...) is a Jinja template, an
#   XComArg or an object the policy cannot read, so the policy cannot tell whether the team may use it.
# custom:
#   id: kubernetes.unverifiable_pod
#   remediation: >-
#     Write the pod's settings as literal values (k8s.V1Pod objects, plain strings), not templates or values
#     computed at run time.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.unverifiable_pod

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result

# A pod without the flag counts as unverifiable.
violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	not entry.pod.verifiable
	unverifiable := object.get(entry.pod, "unverifiable", [])
	message := sprintf("task '%s' asks for a pod %s with settings only known at run time (%s), so it cannot be checked", [
		entry.task_id, kubernetes.pod_label(entry.pod), concat("; ", unverifiable),
	])
	details := {"unverifiable": unverifiable, "source": entry.pod.source, "location": entry.pod.location}
}
