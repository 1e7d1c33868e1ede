package airflow_policies.rules.kubernetes.unverifiable_pod_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.unverifiable_pod as rule

test_deny_templated_pod_settings if {
	pod := fixtures.pod({
		"verifiable": false,
		"unverifiable": ["namespace: '{{ var.value.ns }}'", "image: XComArg"],
	})
	rule.violation == {{
		"rule": "kubernetes.unverifiable_pod",
		"title": "Pod settings not known at parse time",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' asks for a pod (operator, KubernetesPodOperator) with settings only known at run time ",
			"(namespace: '{{ var.value.ns }}'; image: XComArg), so it cannot be checked",
		]),
		"remediation": concat(" ", [
			"Write the pod's settings as literal values (k8s.V1Pod objects, plain strings), not templates or values",
			"computed at run time.",
		]),
		"details": {
			"unverifiable": ["namespace: '{{ var.value.ns }}'", "image: XComArg"], "source": "operator",
			"location": "KubernetesPodOperator",
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

# Fail closed: a pod without the flag counts as unverifiable.
test_deny_a_pod_without_the_flag if {
	pod := object.remove(fixtures.pod({"source": "executor_config"}), ["verifiable", "unverifiable"])
	{[v.task_id, v.details.unverifiable] | some v in rule.violation} == {["t1", []]}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_verifiable_pods if {
	rule.violation == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})]), fixtures.task({"task_id": "t2"})])
		with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_literal_settings if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_literal_settings
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_runtime_settings if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_runtime_settings
		with data.airflow_policies.registry as fixtures.registry
}
