# METADATA
# title: Node pool the team may not use
# description: |
#   A task's pod asks for a node pool (a value of the registry's kubernetes.node_pool_label node label, in
#   its nodeSelector, a node affinity expression with operator In, or a toleration) that is neither one of
#   its team's nor a global one.
# custom:
#   id: kubernetes.foreign_node_pool
#   remediation: >-
#     Leave the node pool unset (your team's default node pool is set for you) or choose one of your team's
#     node pools.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.kubernetes.foreign_node_pool

import data.airflow_policies.lib.kubernetes
import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), entry.task_id, message, details) if {
	some entry in kubernetes.pods
	some [via, pool] in kubernetes.node_pool_choices(entry.pod, kubernetes.node_pool_label)
	not pool in kubernetes.usable_node_pools
	owners := kubernetes.owners(data.airflow_policies.registry.teams, "node_pools", pool)
	message := sprintf("task '%s' asks for node pool '%s' (%s) in a pod %s, which %s may not use: %s", [
		entry.task_id, pool, via, kubernetes.pod_label(entry.pod), team.label, team.owners_label(owners),
	])
	details := {
		"node_pool": pool, "via": via, "source": entry.pod.source, "location": entry.pod.location,
		"owners": sort(owners),
	}
}
