# METADATA
# title: Rollout
# description: |
#   The action in force for each rule (deny, warn or dryrun), from the overrides in
#   data.airflow_policies.rollout.actions, and the live exceptions, from
#   data.airflow_policies.rollout.exceptions. Both are scoped by the team of the DAG's bundle and by the
#   enforcement point, which come from the input the Python side builds, never from the DAG.
package airflow_policies.lib.rollout

default _overrides := []

_overrides := data.airflow_policies.rollout.actions

default _exceptions := []

_exceptions := data.airflow_policies.rollout.exceptions

_strictness := {"dryrun": 0, "warn": 1, "deny": 2}

_in_scope(null, _)

_in_scope(scope, value) if value in scope

_in_force contains override if {
	some override in _overrides
	_strictness[override.action]
	_in_scope(object.get(override, "teams", null), input.bundle.team)
	_in_scope(object.get(override, "enforcement_points", null), input.enforcement_point)
}

_specificity(override) := count([scope |
	some scope in ["teams", "enforcement_points"]
	object.get(override, scope, null) != null
])

# METADATA
# title: Actions in force
# description: |
#   rule id -> action, for every rule with an override that matches the DAG's team and the enforcement
#   point. The most specific override wins (team and point > one of them > neither); among equally
#   specific ones, the strictest. Rules without a matching override keep the action they declare.
actions[rule] := action if {
	some rule in {override.rule | some override in _in_force}
	matching := [override | some override in _in_force; override.rule == rule]
	top := max([_specificity(override) | some override in matching])
	strictest := max([_strictness[override.action] | some override in matching; _specificity(override) == top])
	some action, level in _strictness
	level == strictest
}

# METADATA
# title: Live exceptions
# description: |
#   The exceptions of the DAG's team whose dag_id glob matches the DAG and that have not expired, sorted
#   by id. An exception is valid through the whole of its expiry date (UTC); one without a parseable
#   expiry never applies.
live_exceptions := [pair[1] | some pair in sort([[e.id, e] |
	some e in _exceptions
	e.team == input.bundle.team
	glob.match(object.get(e, "dag_id", "*"), null, input.dag.dag_id)
	time.now_ns() < time.parse_ns("2006-01-02", e.expires) + (((24 * 60) * 60) * 1000000000)
])]

# METADATA
# title: Exception for a violation
# description: |
#   The first of the given live exceptions whose rule and task_id glob match the violation, or null. A
#   DAG-level violation (no task) matches only a task_id glob that matches the empty string.
exception_for(violation, exceptions) := matches[0] if {
	matches := [_summary(e) |
		some e in exceptions
		e.rule == violation.rule
		glob.match(object.get(e, "task_id", "*"), null, _task_text(violation.task_id))
	]
	count(matches) > 0
} else := null

_task_text(null) := ""

_task_text(task_id) := task_id if task_id != null

_summary(e) := {key: e[key] | some key in ["id", "owner", "reason", "ticket", "expires"]}
