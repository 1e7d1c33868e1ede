package airflow_policies.lib.result_test

import data.airflow_policies.lib.result

test_violation_takes_id_texts_and_action_from_the_nearest_annotation if {
	chain := [
		{"path": ["airflow_policies", "rules", "connections", "foreign_connection", "violation"]},
		{
			"path": ["airflow_policies", "rules", "connections", "foreign_connection"],
			"annotations": {
				"title": "Package title",
				"custom": {"id": "connections.foreign_connection", "remediation": "Fix it.", "action": "warn"},
			},
		},
	]
	result.violation(chain, "t1", "msg", {"k": 1}) == {
		"rule": "connections.foreign_connection",
		"title": "Package title",
		"task_id": "t1",
		"message": "msg",
		"remediation": "Fix it.",
		"details": {"k": 1},
		"action": "warn",
	}
}

test_rule_annotations_win_over_package_annotations if {
	chain := [
		{"path": ["airflow_policies", "main", "conflicting_mutation"], "annotations": {"title": "Rule title"}},
		{"path": ["airflow_policies", "main"], "annotations": {"title": "Package title"}},
	]
	v := result.violation(chain, null, "msg", {})
	v.rule == "main.conflicting_mutation"
	v.title == "Rule title"
	v.remediation == ""
}

# A rule whose annotation lacks an id or an action still reports, under its path and as deny.
test_missing_annotations_give_path_id_empty_texts_and_deny if {
	v := result.violation([{"path": ["airflow_policies", "rules", "f", "r", "violation"]}], null, "m", {})
	v.rule == "f.r"
	v.title == ""
	v.remediation == ""
	v.action == "deny"
}

test_declared_id_wins_over_the_path if {
	chain := [{
		"path": ["airflow_policies", "rules", "f", "r", "violation"],
		"annotations": {"custom": {"id": "family.renamed"}},
	}]
	result.violation(chain, null, "m", {}).rule == "family.renamed"
}

test_mutation_shape if {
	chain := [{
		"path": ["airflow_policies", "rules", "routing", "team_queue", "mutation"],
		"annotations": {"custom": {"id": "routing.team_queue", "action": "dryrun"}},
	}]
	result.mutation(chain, "t1", "queue", "team_a") == {
		"rule": "routing.team_queue",
		"task_id": "t1",
		"field": "queue",
		"value": "team_a",
		"action": "dryrun",
	}
}
