# METADATA
# title: Pod with access to the node
# description: |
#   A task's pod shares the node's network, process or IPC namespace (hostNetwork, hostPID, hostIPC) or
#   mounts a hostPath volume: it can reach what runs on the node, other teams' pods included.
# custom:
#   id: kubernetes.host_access
#   remediation: >-
#     Remove hostNetwork, hostPID, hostIPC and hostPath volumes from the pod; for a real need, ask the
#     platform team for an exception in the rollout file.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.host_access

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some [entry, access, path] in _accesses
	message := sprintf("task '%s' runs a pod %s with access to the node: %s", [
		entry.task_id, kubernetes.pod_label(entry.pod), _what(access, path),
	])
	details := {"access": access, "path": path, "source": entry.pod.source, "location": entry.pod.location}
}

_accesses contains [entry, "hostNetwork", null] if {
	some entry in kubernetes.pods
	entry.pod.host_network == true
}

_accesses contains [entry, "hostPID", null] if {
	some entry in kubernetes.pods
	entry.pod.host_pid == true
}

_accesses contains [entry, "hostIPC", null] if {
	some entry in kubernetes.pods
	entry.pod.host_ipc == true
}

_accesses contains [entry, "hostPath", path] if {
	some entry in kubernetes.pods
	some path in entry.pod.host_paths
}

_what(access, null) := access

_what(access, path) := sprintf("%s volume '%s'", [access, path]) if path != null
