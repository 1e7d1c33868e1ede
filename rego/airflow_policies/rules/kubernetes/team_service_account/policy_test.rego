package airflow_policies.rules.kubernetes.team_service_account_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.team_service_account as rule

test_mutate_an_operator_pod_without_service_account if {
	rule.mutation == {{
		"rule": "kubernetes.team_service_account",
		"task_ids": ["t1"],
		"field": "pod_service_account",
		"value": "team-a-runner",
		"action": "deny",
	}}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as fixtures.registry
}

test_one_mutation_for_unset_and_default_accounts_of_mutable_pods if {
	tasks := [
		fixtures.pod_task("b", [fixtures.pod({"source": "executor_pod", "location": "pod", "service_account": "default"})]),
		fixtures.pod_task("a", [fixtures.pod({}), fixtures.pod({"service_account": "default"})]),
		fixtures.pod_task("c", [fixtures.pod({"service_account": "team-b-runner"})]),
		fixtures.pod_task("d", [fixtures.pod({"source": "executor_config", "service_account": "default"})]),
	]
	[[m.task_ids, m.value] | some m in rule.mutation] == [[["a", "b"], "team-a-runner"]]
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_without_team if {
	rule.mutation == set() with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [fixtures.pod({})])])
		with data.airflow_policies.registry as fixtures.registry
}

test_no_mutation_when_the_default_is_default if {
	registry := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/teams/team_a/kubernetes/default_service_account", "value": "default"}],
	)
	rule.mutation == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"service_account": "default"})])])
		with data.airflow_policies.registry as registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_explicit_service_account if {
	_routed(rule.mutation) == 0 with input as rule.samples.golden.allowed_explicit_service_account
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_mutated_default_service_account if {
	_routed(rule.mutation) == 2 with input as rule.samples.golden.mutated_default_service_account
		with data.airflow_policies.registry as fixtures.registry
}

_routed(mutations) := count([task_id | some m in mutations; some task_id in m.task_ids])
