# METADATA
# title: airflow-policies decision
# description: |
#   The one decision per DAG. Collects the mutation and violation sets of every rule package under
#   data.airflow_policies.rules (adding a rule never edits this file), applies the mutations to the
#   input, and evaluates the violations on the mutated input, so a task routed to its team's queue is not
#   also reported for the default one. Team layers (data.airflow_policies.team_rules.<team>) only add
#   violations, for their own team's DAGs: their mutations are never read, their rule ids are prefixed
#   with the team, and another team's layer is never evaluated.
package airflow_policies.main

import data.airflow_policies.lib.result
import data.airflow_policies.lib.rollout
import data.airflow_policies.lib.team

# METADATA
# title: Decision
# description: |
#   The answer for one DAG; validated by airflow_policies.decision on the Python side. Every violation
#   carries the action in force (deny, warn or dryrun) and the exception that excuses it, or null; every
#   mutation its action (dryrun mutations are reported, not applied). Undefined for an input of another
#   schema version or without a DAG, which the Python side treats as an error.
# entrypoint: true
decision := {
	"violations": [_judged(v, rollout.actions, rollout.live_exceptions) |
		some v in sort(((_rule_violations | unowned_mutation_value) | conflicting_mutation))
	],
	"mutations": sort(_valid_mutations),
	"policy_revision": _policy_revision,
} if {
	input.schema_version == 1
	is_string(input.dag.dag_id)
	is_array(input.tasks)
}

default _policy_revision := ""

# Written by whoever loads the policy (airflow-policies' local OPA, or a bundle build), as a hash of the
# rules and data, so that a decision can be traced to the policy that made it.
_policy_revision := data.airflow_policies.meta.revision

_judged(violation, actions, exceptions) := object.union(violation, {
	"action": object.get(actions, violation.rule, violation.action),
	"exception": rollout.exception_for(violation, exceptions),
})

# Every rule's mutations. A rule sets one field of one task (result.mutation) or of many at once
# (result.mutations, task_ids); task id null is the DAG itself.
_findings contains m if {
	some family, rule

	# Dispatch over every rule package by path, as Regal's own main does; no rule is named here.
	# regal ignore:mixed-iteration
	some m in data.airflow_policies.rules[family][rule].mutation
}

_task_ids(m) := object.get(m, "task_ids", [object.get(m, "task_id", null)])

_mutation_keys contains [m.rule, m.field, m.value, m.action] if some m in _findings

_with_action_in_force(m, task_ids) := {
	"rule": m.rule,
	"field": m.field,
	"value": m.value,
	"action": object.get(rollout.actions, m.rule, m.action),
	"task_ids": task_ids,
}

# Each finding is one mutation when no two of them set one field to one value for one rule (the shipped rules
# each make one finding for all the tasks they route).
_mutations contains _with_action_in_force(m, _task_ids(m)) if {
	count(_mutation_keys) == count(_findings)
	some m in _findings
	count(_task_ids(m)) > 0
}

# Otherwise the findings of one key are merged into one mutation naming each task once, sorted. The set of
# task ids is a comprehension OPA indexes on the key (one pass over the findings for all keys), so this
# stays linear in the number of findings.
_mutations contains _with_action_in_force(m, sort(task_ids)) if {
	count(_mutation_keys) != count(_findings)
	some key in _mutation_keys
	task_ids := {task_id | some m in _findings; key = [m.rule, m.field, m.value, m.action]; some task_id in _task_ids(m)}
	count(task_ids) > 0
	m := {"rule": key[0], "field": key[1], "value": key[2], "action": key[3]}
}

# A field can only be set to two values for one task when some mutations set it to different values.
_rival_fields contains field if {
	some field in {m.field | some m in _mutations}
	count({m.value | some m in _mutations; m.field == field}) > 1
}

# [task_id, field] of the rival fields once per distinct value it is set to, sorted: a key listed twice in a
# row is set to two values. Sorting keeps this O(n log n) for DAGs of 10,000 tasks.
_keys_by_value := sort([pair[0] | some pair in {[[task_id, m.field], m.value] |
	some m in _mutations
	m.field in _rival_fields
	some task_id in m.task_ids
}])

_conflicting contains key if {
	some i in numbers.range(1, count(_keys_by_value) - 1)
	key := _keys_by_value[i]
	key == _keys_by_value[i - 1]
}

# Fields whose value is a team resource, with the set of values the team may use.
_owned_fields := {"queue": team.usable_queues, "pool": team.usable_pools, "executor": team.usable_executors}

_unowned contains m if {
	some m in _mutations
	not m.value in _owned_fields[m.field]
	_owned_fields[m.field]
}

_valid_mutations contains m if {
	count(_conflicting) == 0
	some m in _mutations
	not m in _unowned
}

# Only when rules disagree: the tasks they disagree on are left out of every mutation of that field.
_valid_mutations contains object.union(m, {"task_ids": task_ids}) if {
	count(_conflicting) > 0
	some m in _mutations
	not m in _unowned
	task_ids := [task_id | some task_id in m.task_ids; not [task_id, m.field] in _conflicting]
	count(task_ids) > 0
}

_applied_mutations contains m if {
	some m in _valid_mutations
	m.action != "dryrun"
}

# METADATA
# title: Mutation to a resource the team may not use
# description: A rule tried to route a task to a queue, pool or executor its team does not own; it is refused.
# custom:
#   id: main.unowned_mutation_value
#   action: deny
#   remediation: Fix the registry (the team's default_queue / default_pool must be among its own) or the rule.
unowned_mutation_value contains result.violation(rego.metadata.chain(), task_id, message, details) if {
	some m in _unowned
	some task_id in m.task_ids
	message := sprintf("rule %s tried to set %s to '%v', which %s may not use", [m.rule, m.field, m.value, team.label])
	details := {"rule": m.rule, "task_id": task_id, "field": m.field, "value": m.value, "action": m.action}
}

# METADATA
# title: Conflicting mutations
# description: Two rules set the same field of the same task to different values; neither is applied.
# custom:
#   id: main.conflicting_mutation
#   action: deny
#   remediation: Make the rules agree, or make one of them skip tasks the other one routes.
conflicting_mutation contains result.violation(rego.metadata.chain(), task_id, message, details) if {
	some [task_id, field] in _conflicting
	values := {m.value | some m in _mutations; m.field == field; task_id in m.task_ids}
	message := sprintf("rules disagree on %s: %v", [field, sort(values)])
	details := {"field": field, "values": sort(values)}
}

# One JSON patch for all applied mutations: OPA applies it in one call, instead of rebuilding each task. Each
# mutation's tasks are looked up in one pass over the tasks, so this is linear in the tasks for the few
# distinct (rule, field, value) mutations rules make (the shipped ones make at most three).
_patch := array.concat(
	[{"op": "add", "path": ["dag", m.field], "value": m.value} | some m in _applied_mutations; null in m.task_ids],
	[{"op": "add", "path": ["tasks", i, m.field], "value": m.value} |
		some m in _applied_mutations
		task_ids := {task_id | some task_id in m.task_ids}
		some i, task in input.tasks
		task.task_id in task_ids
	],
)

# Nothing applied: the violations are judged on the input as it is, with no second evaluation context.
_rule_violations := {v | some v in _violations} if count(_patch) == 0

_rule_violations := violations if {
	count(_patch) > 0

	# regal ignore:with-outside-test-context
	violations := {v | some v in _violations} with input as json.patch(input, _patch)
}

_violations contains v if {
	some family, rule

	# regal ignore:mixed-iteration
	some v in data.airflow_policies.rules[family][rule].violation
}

# Only the layer of the DAG's own team (the team comes from the bundle), only its violations, each under
# an id in the team's namespace, so it cannot pass for, or be excused as, a platform rule.
_violations contains object.union(v, {"rule": sprintf("teams.%s.%s", [input.bundle.team, rule])}) if {
	is_string(input.bundle.team)
	some rule

	# regal ignore:mixed-iteration
	some v in data.airflow_policies.team_rules[input.bundle.team][rule].violation
}
