package airflow_policies.lib.kubernetes_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.lib.kubernetes

test_usable_objects_are_own_global_and_shared if {
	inp := fixtures.dag({}, [])
	kubernetes.usable_namespaces == {"team-a", "airflow"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_service_accounts == {"team-a-runner"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_secrets == {"team-a-db", "team-b-public-ca"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_config_maps == {"team-a-settings", "team-b-public-settings"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	kubernetes.image_prefixes == {"registry.example.com/team-a/", "apache/airflow:"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_node_pools == {"team-a-pool"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_pod_template_files == {"/opt/airflow/pod_templates/team_a.yaml"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
}

test_null_team_may_use_global_objects_only if {
	inp := fixtures.dag_of(null, {}, [])
	kubernetes.usable_namespaces == {"airflow"} with input as inp with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_secrets == set() with input as inp with data.airflow_policies.registry as fixtures.registry
	kubernetes.usable_config_maps == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_labels_default_when_the_registry_has_no_kubernetes_section if {
	kubernetes.node_pool_label == "airflow-policies/node-pool" with data.airflow_policies.registry as {}
	kubernetes.team_label == "airflow-policies/team" with data.airflow_policies.registry as {}
	kubernetes.node_pool_label == "pool" with data.airflow_policies.registry as {"kubernetes": {"node_pool_label": "pool"}}
	kubernetes.team_label == "team" with data.airflow_policies.registry as {"kubernetes": {"team_label": "team"}}
}

test_pods_of_every_task_and_none_without if {
	first := fixtures.pod({"namespace": "team-a"})
	second := fixtures.pod({"source": "executor_config"})
	tasks := [fixtures.pod_task("a", [first, second]), fixtures.task({"task_id": "b"})]
	kubernetes.pods == {{"task_id": "a", "pod": first}, {"task_id": "a", "pod": second}}
		with input as fixtures.dag({}, tasks)
	kubernetes.pods == set() with input as fixtures.dag({}, [fixtures.task({})])
}

# As main judges violations: on the input with the mutations applied, which set the task's pod_* fields.
test_pods_as_the_applied_mutations_leave_them if {
	unset := fixtures.pod({})
	deployment := fixtures.pod({"source": "executor_pod", "namespace": "airflow", "service_account": "default"})
	chosen := fixtures.pod({"namespace": "team-b", "service_account": "team-b-runner"})
	planned := fixtures.pod({"source": "executor_config"})
	task := object.union(fixtures.pod_task("t1", [unset, deployment, chosen, planned]), {
		"pod_namespace": "team-a", "pod_service_account": "team-a-runner",
		"pod_node_selector": {"airflow-policies/node-pool": "team-a-pool"},
	})
	{[p.source, p.namespace, p.service_account, p.node_selector] | some entry in kubernetes.pods; p := entry.pod} == {
		["operator", "team-a", "team-a-runner", {"airflow-policies/node-pool": "team-a-pool"}],
		["executor_pod", "team-a", "team-a-runner", {"airflow-policies/node-pool": "team-a-pool"}],
		["operator", "team-b", "team-b-runner", {"airflow-policies/node-pool": "team-a-pool"}],
		["executor_config", null, null, {}],
	} with input as fixtures.dag({}, [task])
}

test_pods_given_only_a_node_pool if {
	label := "airflow-policies/node-pool"
	task := object.union(fixtures.pod_task("t1", [fixtures.pod({"node_selector": {"zone": "a"}})]), {
		"pod_node_selector": {label: "team-a-pool"},
	})
	[entry.pod.node_selector | some entry in kubernetes.pods] == [{"zone": "a", label: "team-a-pool"}]
		with input as fixtures.dag({}, [task])
}

test_namespace_moves_only_from_unset_or_the_deployment_default if {
	kubernetes.moves_namespace(fixtures.pod({})) with input as fixtures.dag({}, [])
	kubernetes.moves_namespace(fixtures.pod({"namespace": "airflow"})) with input as fixtures.dag({}, [])
	not kubernetes.moves_namespace(fixtures.pod({"namespace": "team-a"})) with input as fixtures.dag({}, [])
	not kubernetes.moves_namespace(fixtures.pod({"namespace": "airflow"}))
		with input as object.union(fixtures.dag({}, []), {"airflow": {"kubernetes": null}})
	not kubernetes.moves_namespace(fixtures.pod({"source": "executor_config"})) with input as fixtures.dag({}, [])
}

test_node_pool_choices_from_selector_affinity_and_tolerations if {
	label := "airflow-policies/node-pool"
	pod := fixtures.pod({
		"node_selector": {label: "p1", "other": "x"},
		"node_affinity": [
			{"key": label, "operator": "In", "values": ["p2", "p3"]},
			{"key": label, "operator": "NotIn", "values": ["p4"]},
			{"key": "zone", "operator": "In", "values": ["z"]},
		],
		"tolerations": [
			{"key": label, "operator": "Equal", "value": "p5", "effect": "NoSchedule"},
			{"key": label, "operator": "Exists", "value": null, "effect": null},
			{"key": null, "operator": "Exists", "value": null, "effect": null},
		],
	})
	kubernetes.node_pool_choices(pod, label) == {
		["node_selector", "p1"], ["node_affinity", "p2"], ["node_affinity", "p3"], ["toleration", "p5"],
	}
	kubernetes.chooses_node_pool(pod, label)
	exists := fixtures.pod({"node_affinity": [{"key": label, "operator": "Exists", "values": []}]})
	kubernetes.chooses_node_pool(exists, label)
	not kubernetes.chooses_node_pool(fixtures.pod({"tolerations": [{"key": label, "value": "p5"}]}), label)
}

test_owners_and_pod_label if {
	kubernetes.image_owners(fixtures.registry.teams, "registry.example.com/team-b/etl:1") == {"team_b"}
	kubernetes.image_owners(fixtures.registry.teams, "docker.io/busybox") == set()
	kubernetes.owners(fixtures.registry.teams, "secrets", "team-b-db") == {"team_b"}
	kubernetes.owners(fixtures.registry.teams, "namespaces", "nowhere") == set()
	kubernetes.pod_label(fixtures.pod({})) == "(operator, KubernetesPodOperator)"
}

test_global_node_pools_and_templates_are_usable if {
	registry := json.patch(fixtures.registry, [
		{"op": "add", "path": "/global/kubernetes/node_pools/-", "value": "shared-pool"},
		{"op": "add", "path": "/global/kubernetes/pod_template_files/-", "value": "/opt/airflow/pod_templates/base.yaml"},
	])
	kubernetes.usable_node_pools == {"shared-pool"} with input as fixtures.dag_of(null, {}, [])
		with data.airflow_policies.registry as registry
	kubernetes.usable_pod_template_files == {"/opt/airflow/pod_templates/base.yaml"}
		with input as fixtures.dag_of(null, {}, [])
		with data.airflow_policies.registry as registry
}
