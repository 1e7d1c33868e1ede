# METADATA
# title: Kubernetes pods
# description: |
#   The pods the DAG's tasks ask for (input.tasks[_].pods: a task's executor_config, the pod its
#   KubernetesPodOperator launches, or the KubernetesExecutor's final pod) and what the DAG's team may use in
#   them, from the registry's kubernetes sections: its own objects, global ones, and the Secrets and
#   ConfigMaps other teams share with it. A null or unregistered team may use only global ones.
package airflow_policies.lib.kubernetes

import data.airflow_policies.lib.team
import data.airflow_policies.registry

# METADATA
# title: Pods
# description: |
#   {task_id, pod} for every pod of every task, each as the applied mutations leave it (see _as_mutated).
#   One pass over the tasks for all kubernetes rules; empty when no task has a pod, so the rules then
#   look at nothing.
pods contains {"task_id": task.task_id, "pod": _judged(task, pod)} if {
	some task in input.tasks
	some pod in task.pods
}

# Only a task the applied mutations changed is rebuilt (never in the evaluation that makes the mutations).
_judged(task, pod) := pod if not _mutated(task)

_judged(task, pod) := _as_mutated(task, pod) if _mutated(task)

_mutated(task) if task.pod_namespace

_mutated(task) if task.pod_service_account

_mutated(task) if task.pod_node_selector

# main judges violations on the input with the applied mutations, which set a task's pod_namespace,
# pod_service_account or pod_node_selector (the Python side changes the pod): a pod they change is judged as
# it will be, so an executor pod in the deployment's namespace is not reported for the namespace it is taken
# out of, and a team default the team may not use (a registry mistake) is reported, not applied unseen.
_as_mutated(task, pod) := object.union_n([
	pod,
	{"namespace": task.pod_namespace | moves_namespace(pod)},
	{"service_account": task.pod_service_account | moves_service_account(pod)},
	{"node_selector": object.union(pod.node_selector, selector) |
		selector := task.pod_node_selector
		mutable(pod)
		not chooses_node_pool(pod, node_pool_label)
	},
])

# METADATA
# title: Mutable pod
# description: |
#   Whether the kubernetes.team_* mutations change the pod: one a KubernetesPodOperator launches, or the
#   KubernetesExecutor's final pod. A task's executor_config is not changed; its final pod is, by the hook.
mutable(pod) if pod.source in {"operator", "executor_pod"}

# METADATA
# title: Namespace left to the deployment
# scope: document
# description: |
#   A mutable pod that sets no namespace, or the deployment's default one ([kubernetes_executor] namespace):
#   kubernetes.team_namespace moves it to its team's default namespace.
moves_namespace(pod) if {
	mutable(pod)
	pod.namespace == null
}

moves_namespace(pod) if {
	mutable(pod)
	is_string(pod.namespace)
	pod.namespace == input.airflow.kubernetes.namespace
}

# METADATA
# title: Service account left to the cluster
# description: |
#   A mutable pod with no service account or Kubernetes' "default" one: kubernetes.team_service_account
#   gives it its team's default service account.
moves_service_account(pod) if {
	mutable(pod)
	pod.service_account in {null, "default"}
}

# METADATA
# title: Node pool label
# scope: document
# description: The node label whose value names a node pool (registry kubernetes.node_pool_label).
default node_pool_label := "airflow-policies/node-pool"

node_pool_label := registry.kubernetes.node_pool_label

# METADATA
# title: Team label
# scope: document
# description: The pod label that carries the pod's team (registry kubernetes.team_label).
default team_label := "airflow-policies/team"

team_label := registry.kubernetes.team_label

# METADATA
# title: Node pools a pod chooses
# description: |
#   [how, pool] for each node pool the pod asks for: its nodeSelector entry for the label, each value of a
#   node affinity expression on the label with operator In, and each toleration of the label with a value.
node_pool_choices(pod, label) := (_selected(pod, label) | _affinities(pod, label)) | _tolerated(pod, label)

_selected(pod, label) := {["node_selector", pool] | pool := pod.node_selector[label]}

_affinities(pod, label) := {["node_affinity", pool] |
	some expression in pod.node_affinity
	expression.key == label
	expression.operator == "In"
	some pool in expression.values
}

_tolerated(pod, label) := {["toleration", toleration.value] |
	some toleration in pod.tolerations
	toleration.key == label
	is_string(toleration.value)
}

# METADATA
# title: Chooses a node pool
# scope: document
# description: Whether the pod's nodeSelector or a node affinity expression (any operator) names the label.
chooses_node_pool(pod, label) if pod.node_selector[label]

chooses_node_pool(pod, label) if {
	some expression in pod.node_affinity
	expression.key == label
}

# METADATA
# title: Pod label
# description: How messages name a pod, e.g. (operator, KubernetesPodOperator).
pod_label(pod) := sprintf("(%s, %s)", [pod.source, pod.location])

# METADATA
# title: Owners
# description: The registered teams whose kubernetes section lists value under kind (namespaces, secrets, ...).
owners(teams, kind, value) := {name | some name, entry in teams; value in entry.kubernetes[kind]}

# METADATA
# title: Image owners
# description: The registered teams with an image prefix the image starts with.
image_owners(teams, image) := {name |
	some name, entry in teams
	team.has_prefix(image, entry.kubernetes.image_prefixes)
}

_shares_with_team contains share if {
	some share in registry.shares
	team.name in share["with"]
}

# METADATA
# title: Usable namespaces
# scope: document
# description: The team's namespaces and global ones.
usable_namespaces contains namespace if some namespace in team.record.kubernetes.namespaces

usable_namespaces contains namespace if some namespace in registry.global.kubernetes.namespaces

# METADATA
# title: Usable service accounts
# scope: document
# description: The team's service accounts and global ones.
usable_service_accounts contains account if some account in team.record.kubernetes.service_accounts

usable_service_accounts contains account if some account in registry.global.kubernetes.service_accounts

# METADATA
# title: Usable Secrets
# scope: document
# description: The team's Secrets, global ones, and those shared with the team (shares kubernetes_secrets).
usable_secrets contains secret if some secret in team.record.kubernetes.secrets

usable_secrets contains secret if some secret in registry.global.kubernetes.secrets

usable_secrets contains secret if {
	some share in _shares_with_team
	some secret in share.kubernetes_secrets
}

# METADATA
# title: Usable ConfigMaps
# scope: document
# description: The team's ConfigMaps, global ones, and those shared with the team (shares kubernetes_config_maps).
usable_config_maps contains config_map if some config_map in team.record.kubernetes.config_maps

usable_config_maps contains config_map if some config_map in registry.global.kubernetes.config_maps

usable_config_maps contains config_map if {
	some share in _shares_with_team
	some config_map in share.kubernetes_config_maps
}

# METADATA
# title: Usable image prefixes
# scope: document
# description: The team's image prefixes and global ones; an image must start with one.
image_prefixes contains prefix if some prefix in team.record.kubernetes.image_prefixes

image_prefixes contains prefix if some prefix in registry.global.kubernetes.image_prefixes

# METADATA
# title: Usable node pools
# scope: document
# description: The team's node pools and global ones.
usable_node_pools contains pool if some pool in team.record.kubernetes.node_pools

usable_node_pools contains pool if some pool in registry.global.kubernetes.node_pools

# METADATA
# title: Usable pod template files
# scope: document
# description: The team's pod template files and global ones.
usable_pod_template_files contains path if some path in team.record.kubernetes.pod_template_files

usable_pod_template_files contains path if some path in registry.global.kubernetes.pod_template_files
