package airflow_policies.rules.kubernetes.foreign_config_map_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.foreign_config_map as rule

test_deny_other_teams_config_map if {
	pod := fixtures.pod({"config_maps": [fixtures.pod_object("team-b-settings", "volume")]})
	rule.violation == {{
		"rule": "kubernetes.foreign_config_map",
		"title": "ConfigMap the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' reads ConfigMap 'team-b-settings' (volume, spec.volumes[0]) in a pod (operator, KubernetesPodOperator), ",
			"which team 'team_a' may not use: it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Read your team's ConfigMaps or global ones, or ask the owning team to share the ConfigMap with your team",
			"(shares kubernetes_config_maps in the registry).",
		]),
		"details": {
			"config_map": "team-b-settings", "via": "volume", "reference": "spec.volumes[0]", "source": "operator",
			"location": "KubernetesPodOperator", "owners": ["team_b"],
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_and_shared_config_maps if {
	refs := [
		fixtures.pod_object("team-a-settings", "env"),
		fixtures.pod_object("team-b-public-settings", "projected_volume"),
	]
	_found(rule.violation) == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"config_maps": refs})])])
		with data.airflow_policies.registry as fixtures.registry
}

# A share is for the teams it names: not for the owner's other objects, not for a team without a bundle.
test_deny_unshared_and_unowned_config_maps_of_every_pod if {
	config := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"config_maps": [fixtures.pod_object("team-b-settings", "env")],
	})
	operator := fixtures.pod({"config_maps": [
		fixtures.pod_object("team-a-settings", "env"),
		fixtures.pod_object("nobodys", "volume"),
	]})
	_found(rule.violation) == {["t1", "team-b-settings", "executor_config", ["team_b"]], ["t1", "nobodys", "operator", []]}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [config, operator])])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_shared_config_maps_for_a_null_team if {
	pod := fixtures.pod({"config_maps": [fixtures.pod_object("team-b-public-settings", "env")]})
	_found(rule.violation) == {["t1", "team-b-public-settings", "operator", ["team_b"]]}
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_global_config_maps if {
	registry := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/global/kubernetes/config_maps/-", "value": "ca-bundle"}],
	)
	pod := fixtures.pod({"config_maps": [fixtures.pod_object("ca-bundle", "volume")]})
	_found(rule.violation) == set()
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as registry
}

_found(violations) := {[v.task_id, v.details.config_map, v.details.source, v.details.owners] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_and_shared_config_maps if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_and_shared_config_maps
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_config_maps_in_a_group if {
	count(rule.violation) == 3 with input as rule.samples.golden.denied_config_maps_in_a_group
		with data.airflow_policies.registry as fixtures.registry
}
