package airflow_policies.rules.queues.foreign_queue_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.rules.queues.foreign_queue as rule

test_deny_other_teams_queue if {
	violations := rule.violation with input as fixtures.dag({}, [fixtures.task({"queue": "team_b"})])
		with data.airflow_policies.registry as fixtures.registry
	[v.details | some v in violations] == [{"queue": "team_b", "owners": ["team_b"]}]
}

test_deny_own_queue_for_null_team if {
	count(rule.violation) == 1 with input as fixtures.dag_of(null, {}, [fixtures.task({"queue": "team_a"})])
		with data.airflow_policies.registry as fixtures.registry
}

test_allow_own_and_global_queues if {
	tasks := [fixtures.task({"queue": "team_a_gpu"}), fixtures.task({"task_id": "t2", "queue": "shared_queue"})]
	inp := fixtures.dag({}, tasks)
	rule.violation == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

# The golden inputs: what the runtime sends for each sample (airflow-policies golden writes them).
test_golden_allowed_own_queue if {
	count(rule.violation) == 0 with input as rule.samples.golden.allowed_own_queue
		with data.airflow_policies.registry as fixtures.registry
}

test_golden_denied_team_b_queue if {
	count(rule.violation) == 1 with input as rule.samples.golden.denied_team_b_queue
		with data.airflow_policies.registry as fixtures.registry
}
