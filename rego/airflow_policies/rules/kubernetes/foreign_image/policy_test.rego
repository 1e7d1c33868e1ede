package airflow_policies.rules.kubernetes.foreign_image_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.foreign_image as rule

test_deny_other_teams_image if {
	pod := fixtures.pod({"images": ["registry.example.com/team-b/etl:1.2"]})
	rule.violation == {{
		"rule": "kubernetes.foreign_image",
		"title": "Image the team may not run",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' runs image 'registry.example.com/team-b/etl:1.2' in a pod (operator, KubernetesPodOperator), ",
			"which team 'team_a' may not use: it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Use an image from one of your team's registries or a global one (image_prefixes), or ask the platform",
			"team to add the prefix.",
		]),
		"details": {
			"image": "registry.example.com/team-b/etl:1.2", "source": "operator", "location": "KubernetesPodOperator",
			"owners": ["team_b"],
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

# A prefix is matched as written: team-a/ does not open team-ab/, and apache/airflow: not apache/airflow-x.
test_deny_images_that_only_look_alike if {
	images := [
		"registry.example.com/team-a/etl:1", "apache/airflow:3.3.2", "registry.example.com/team-ab/etl:1",
		"apache/airflow-custom:1", "busybox",
	]
	pods := [fixtures.pod({"images": images}), fixtures.pod({"source": "executor_config", "images": ["busybox"]})]
	_found(rule.violation) == {
		["t1", "registry.example.com/team-ab/etl:1", "operator"],
		["t1", "apache/airflow-custom:1", "operator"],
		["t1", "busybox", "operator"],
		["t1", "busybox", "executor_config"],
	}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_team_images_for_a_null_team if {
	pod := fixtures.pod({"images": ["registry.example.com/team-a/etl:1", "apache/airflow:3.3.2"]})
	_found(rule.violation) == {["t1", "registry.example.com/team-a/etl:1", "operator"]}
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

_found(violations) := {[v.task_id, v.details.image, v.details.source] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_and_global_images if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_and_global_images
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_borrowed_images if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_borrowed_images
		with data.airflow_policies.registry as fixtures.registry
}
