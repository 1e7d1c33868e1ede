package airflow_policies.lib.result_test

import data.airflow_policies.lib.result

test_violation_takes_id_from_path_and_texts_from_the_nearest_annotation if {
	chain := [
		{"path": ["airflow_policies", "rules", "connections", "foreign_connection", "violation"]},
		{
			"path": ["airflow_policies", "rules", "connections", "foreign_connection"],
			"annotations": {"title": "Package title", "custom": {"remediation": "Fix it."}},
		},
	]
	result.violation(chain, "t1", "msg", {"k": 1}) == {
		"rule": "connections.foreign_connection",
		"title": "Package title",
		"task_id": "t1",
		"message": "msg",
		"remediation": "Fix it.",
		"details": {"k": 1},
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

test_missing_annotations_give_empty_texts if {
	v := result.violation([{"path": ["airflow_policies", "rules", "f", "r", "violation"]}], null, "m", {})
	v.title == ""
	v.remediation == ""
}

test_mutation_shape if {
	chain := [{"path": ["airflow_policies", "rules", "routing", "team_queue", "mutation"]}]
	result.mutation(chain, "t1", "queue", "team_a") == {
		"rule": "routing.team_queue",
		"task_id": "t1",
		"field": "queue",
		"value": "team_a",
	}
}
