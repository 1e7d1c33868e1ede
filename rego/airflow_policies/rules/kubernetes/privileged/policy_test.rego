package airflow_policies.rules.kubernetes.privileged_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.privileged as rule

test_deny_privileged_container if {
	pod := fixtures.pod({"privileged": true})
	rule.violation == {{
		"rule": "kubernetes.privileged",
		"title": "Privileged pod",
		"task_id": "t1",
		"message": "task 't1' runs a pod (operator, KubernetesPodOperator) with elevated privileges: privileged: true",
		"remediation": concat(" ", [
			"Drop privileged, allowPrivilegeEscalation and added capabilities, and run as a non-root user; for a",
			"real need, ask the platform team for an exception in the rollout file.",
		]),
		"details": {"setting": "privileged", "value": true, "source": "operator", "location": "KubernetesPodOperator"},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_escalation_capabilities_and_root if {
	config := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"allow_privilege_escalation": true, "run_as_users": [1000, 0],
	})
	operator := fixtures.pod({"capabilities": ["NET_ADMIN", "SYS_ADMIN"]})
	violations := rule.violation with input as fixtures.dag({}, [fixtures.pod_task("t1", [config, operator])])
		with data.airflow_policies.registry as fixtures.registry
	{[v.details.setting, v.details.value, v.details.source] | some v in violations} == {
		["allowPrivilegeEscalation", true, "executor_config"],
		["runAsUser", 0, "executor_config"],
		["capabilities.add", "NET_ADMIN", "operator"],
		["capabilities.add", "SYS_ADMIN", "operator"],
	}
	{v.message | some v in violations; v.details.value in {0, "SYS_ADMIN"}} == {
		concat("", [
			"task 't1' runs a pod (executor_config, executor_config.pod_override) with elevated privileges: ",
			"runs as root (runAsUser 0)",
		]),
		"task 't1' runs a pod (operator, KubernetesPodOperator) with elevated privileges: adds capability SYS_ADMIN",
	}
}

test_allow_non_root_unprivileged_pods if {
	pods := [fixtures.pod({"run_as_users": [1000, 50000]}), fixtures.pod({"source": "executor_pod", "location": "pod"})]
	rule.violation == set() with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_non_root if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_non_root
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_privileged_containers if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_privileged_containers
		with data.airflow_policies.registry as fixtures.registry
}
