package airflow_policies.rules.kubernetes.foreign_secret_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.foreign_secret as rule

test_deny_other_teams_secret if {
	pod := fixtures.pod({"secrets": [fixtures.pod_object("team-b-db", "env_from")]})
	rule.violation == {{
		"rule": "kubernetes.foreign_secret",
		"title": "Secret the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' reads Secret 'team-b-db' (env_from, spec.volumes[0]) in a pod (operator, KubernetesPodOperator), ",
			"which team 'team_a' may not use: it belongs to team 'team_b'",
		]),
		"remediation": concat(" ", [
			"Read your team's Secrets or global ones, or ask the owning team to share the Secret with your team",
			"(shares kubernetes_secrets in the registry).",
		]),
		"details": {
			"secret": "team-b-db", "via": "env_from", "reference": "spec.volumes[0]", "source": "operator",
			"location": "KubernetesPodOperator", "owners": ["team_b"],
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_and_shared_secrets if {
	refs := [fixtures.pod_object("team-a-db", "env"), fixtures.pod_object("team-b-public-ca", "projected_volume")]
	_found(rule.violation) == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [fixtures.pod({"secrets": refs})])])
		with data.airflow_policies.registry as fixtures.registry
}

# A share is for the teams it names: not for the owner's other objects, not for a team without a bundle.
test_deny_unshared_and_unowned_secrets_of_every_pod if {
	config := fixtures.pod({
		"source": "executor_config", "location": "executor_config.pod_override",
		"secrets": [fixtures.pod_object("team-b-db", "env")],
	})
	operator := fixtures.pod({"secrets": [
		fixtures.pod_object("team-a-db", "env"),
		fixtures.pod_object("nobodys", "volume"),
	]})
	_found(rule.violation) == {["t1", "team-b-db", "executor_config", ["team_b"]], ["t1", "nobodys", "operator", []]}
		with input as fixtures.dag({}, [fixtures.pod_task("t1", [config, operator])])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_shared_secrets_for_a_null_team if {
	pod := fixtures.pod({"secrets": [fixtures.pod_object("team-b-public-ca", "env")]})
	_found(rule.violation) == {["t1", "team-b-public-ca", "operator", ["team_b"]]}
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_global_secrets if {
	registry := json.patch(
		fixtures.registry,
		[{"op": "add", "path": "/global/kubernetes/secrets/-", "value": "ca-bundle"}],
	)
	pod := fixtures.pod({"secrets": [fixtures.pod_object("ca-bundle", "volume")]})
	_found(rule.violation) == set()
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as registry
}

_found(violations) := {[v.task_id, v.details.secret, v.details.source, v.details.owners] | some v in violations}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_and_shared_secrets if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_and_shared_secrets
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_mapped_and_mounted_secrets if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_mapped_and_mounted_secrets
		with data.airflow_policies.registry as fixtures.registry
}
