# METADATA
# title: Privileged pod
# description: |
#   A task's pod has a privileged container, allows privilege escalation, adds Linux capabilities or runs
#   a container as root (runAsUser 0): it can break out of its container onto the node.
# custom:
#   id: kubernetes.privileged
#   remediation: >-
#     Drop privileged, allowPrivilegeEscalation and added capabilities, and run as a non-root user; for a
#     real need, ask the platform team for an exception in the rollout file.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.privileged

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some [entry, setting, value] in _escalations
	message := sprintf("task '%s' runs a pod %s with elevated privileges: %s", [
		entry.task_id, kubernetes.pod_label(entry.pod), _what(setting, value),
	])
	details := {"setting": setting, "value": value, "source": entry.pod.source, "location": entry.pod.location}
}

_escalations contains [entry, "privileged", true] if {
	some entry in kubernetes.pods
	entry.pod.privileged == true
}

_escalations contains [entry, "allowPrivilegeEscalation", true] if {
	some entry in kubernetes.pods
	entry.pod.allow_privilege_escalation == true
}

_escalations contains [entry, "capabilities.add", capability] if {
	some entry in kubernetes.pods
	some capability in entry.pod.capabilities
}

_escalations contains [entry, "runAsUser", 0] if {
	some entry in kubernetes.pods
	0 in entry.pod.run_as_users
}

_what("capabilities.add", capability) := sprintf("adds capability %s", [capability])

_what("runAsUser", _) := "runs as root (runAsUser 0)"

_what(setting, true) := sprintf("%s: true", [setting])
