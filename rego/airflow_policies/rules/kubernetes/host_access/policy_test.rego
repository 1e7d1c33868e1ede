package airflow_policies.rules.kubernetes.host_access_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.main
import data.airflow_policies.rules.kubernetes.host_access as rule

test_deny_host_path_volume if {
	pod := fixtures.pod({"host_paths": ["/var/run/docker.sock"]})
	rule.violation == {{
		"rule": "kubernetes.host_access",
		"title": "Pod with access to the node",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' runs a pod (operator, KubernetesPodOperator) with access to the node: ",
			"hostPath volume '/var/run/docker.sock'",
		]),
		"remediation": concat(" ", [
			"Remove hostNetwork, hostPID, hostIPC and hostPath volumes from the pod; for a real need, ask the",
			"platform team for an exception in the rollout file.",
		]),
		"details": {
			"access": "hostPath", "path": "/var/run/docker.sock", "source": "operator",
			"location": "KubernetesPodOperator",
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

# Each kind of access is its own violation, in every pod of every task, whatever the pod's source.
test_deny_each_host_namespace_and_path if {
	config := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"host_network": true, "host_pid": true,
	})
	operator := fixtures.pod({"host_ipc": true, "host_paths": ["/", "/etc"]})
	tasks := [fixtures.pod_task("a", [config, operator]), fixtures.pod_task("b", [config])]
	_found(rule.violation) == {
		["a", "hostNetwork", null, "executor_config"], ["a", "hostPID", null, "executor_config"],
		["a", "hostIPC", null, "operator"], ["a", "hostPath", "/", "operator"], ["a", "hostPath", "/etc", "operator"],
		["b", "hostNetwork", null, "executor_config"], ["b", "hostPID", null, "executor_config"],
	}
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_a_pod_without_host_access if {
	_found(rule.violation) == set() with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as fixtures.registry
}

# Exceptions come from the rollout file, as for every rule. (No time.now_ns mock: on the Wasm target a mocked
# builtin makes this decision take over opa test's 5 s timeout.)
test_an_exception_excuses_one_task if {
	pod := fixtures.pod({"host_network": true})
	inp := fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
	exception := {
		"id": "EX-1", "team": "team_a", "rule": "kubernetes.host_access", "dag_id": "team_a__*",
		"task_id": "t1", "owner": "platform", "reason": "node exporter", "ticket": "OPS-1",
		"expires": "2099-12-31",
	}
	[[v.rule, v.exception.id] | some v in main.decision.violations] == [["kubernetes.host_access", "EX-1"]]
		with input as inp
		with data.airflow_policies.registry as fixtures.registry
		with data.airflow_policies.rollout.exceptions as [exception]
}

_found(violations) := {[v.task_id, v.details.access, v.details.path, v.details.source] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_isolated_pod if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_isolated_pod
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_docker_socket if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_docker_socket
		with data.airflow_policies.registry as fixtures.registry
}
