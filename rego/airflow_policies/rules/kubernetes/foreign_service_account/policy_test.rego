package airflow_policies.rules.kubernetes.foreign_service_account_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.foreign_service_account as rule

test_deny_other_teams_service_account if {
	inp := fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"service_account": "team-b-runner"})])])
	rule.violation == {{
		"rule": "kubernetes.foreign_service_account",
		"title": "Service account the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' runs a pod (operator, KubernetesPodOperator) as service account 'team-b-runner', which ",
			"team 'team_a' may not use: it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Leave service_account_name unset (your team's default service account is set for you) or use one of",
			"your team's service accounts.",
		]),
		"details": {
			"service_account": "team-b-runner", "source": "operator", "location": "KubernetesPodOperator",
			"owners": ["team_b"],
		},
		"action": "deny",
	}} with input as inp with data.airflow_policies.registry as fixtures.registry
}

# Kubernetes' default service account is a name like any other: an executor_config that asks for it is
# denied unless the registry lists it (the team_service_account mutation only changes operator pods).
test_deny_default_service_account_in_executor_config_unless_listed if {
	pod := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"service_account": "default",
	})
	inp := fixtures.dag({}, [fixtures.pod_task("a", [pod]), fixtures.pod_task("b", [pod])])
	_found(rule.violation) == {["a", "default", []], ["b", "default", []]} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	listed := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/global/kubernetes/service_accounts/-", "value": "default"}],
	)
	_found(rule.violation) == set() with input as inp with data.airflow_policies.registry as listed
}

test_allow_own_and_unset_service_accounts if {
	pods := [fixtures.pod({"service_account": "team-a-runner"}), fixtures.pod({})]
	_found(rule.violation) == set() with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

# An operator pod left on "default" is given the team's account by the decision, and judged as such.
test_allow_a_default_operator_pod_the_mutation_moves if {
	task := object.union(
		fixtures.pod_task("t1", [fixtures.pod({"service_account": "default"})]),
		{"pod_service_account": "team-a-runner"},
	)
	_found(rule.violation) == set() with input as fixtures.dag({}, [task])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_every_account_for_a_null_team if {
	pods := [fixtures.pod({"service_account": "team-a-runner"})]
	_found(rule.violation) == {["t1", "team-a-runner", ["team_a"]]}
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

_found(violations) := {[v.task_id, v.details.service_account, v.details.owners] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_service_account if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_service_account
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_borrowed_service_accounts if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_borrowed_service_accounts
		with data.airflow_policies.registry as fixtures.registry
}
