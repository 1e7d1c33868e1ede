package airflow_policies.rules.kubernetes.foreign_pod_template_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.kubernetes.foreign_pod_template as rule

test_deny_other_teams_pod_template if {
	pod := _config({"pod_template_file": "/opt/airflow/pod_templates/team_b.yaml"})
	rule.violation == {{
		"rule": "kubernetes.foreign_pod_template",
		"title": "Pod template the team may not use",
		"task_id": "t1",
		"message": concat("", [
			"task 't1' uses pod template file '/opt/airflow/pod_templates/team_b.yaml' (executor_config, ",
			"executor_config.pod_template_file), which team 'team_a' may not use: it belongs to team 'team_b'",
		]),
		"remediation": "Use one of your team's pod template files, or leave pod_template_file unset.",
		"details": {
			"pod_template_file": "/opt/airflow/pod_templates/team_b.yaml", "source": "executor_config",
			"location": "executor_config.pod_template_file", "owners": ["team_b"],
		},
		"action": "deny",
	}} with input as fixtures.dag({}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_every_task_of_a_default_args_template if {
	pod := _config({"pod_template_file": "/tmp/mine.yaml"})
	tasks := [fixtures.pod_task("a", [pod]), fixtures.pod_task("b", [pod])]
	{[v.task_id, v.details.owners] | some v in rule.violation} == {["a", []], ["b", []]}
		with input as fixtures.dag({}, tasks)
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_template_and_none if {
	pods := [_config({"pod_template_file": "/opt/airflow/pod_templates/team_a.yaml"}), _config({})]
	rule.violation == set()
		with input as fixtures.dag({}, [fixtures.pod_task("t1", pods)])
		with data.airflow_policies.registry as fixtures.registry
}

test_deny_team_template_for_a_null_team if {
	pod := _config({"pod_template_file": "/opt/airflow/pod_templates/team_a.yaml"})
	{v.details.owners | some v in rule.violation} == {["team_a"]}
		with input as fixtures.dag_of(null, {}, [fixtures.pod_task("t1", [pod])])
		with data.airflow_policies.registry as fixtures.registry
}

_config(fields) := fixtures.pod(object.union(
	{"source": "executor_config", "location": "executor_config.pod_template_file"},
	fields,
))

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_template if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_template
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_default_args_template if {
	count(rule.violation) == 2 with input as rule.samples.golden.denied_default_args_template
		with data.airflow_policies.registry as fixtures.registry
}
