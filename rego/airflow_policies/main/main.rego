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

_mutations contains object.union(m, {"action": object.get(rollout.actions, m.rule, m.action)}) if {
	some family, rule

	# Dispatch over every rule package by path, as Regal's own main does; no rule is named here.
	# regal ignore:mixed-iteration
	some m in data.airflow_policies.rules[family][rule].mutation
}

# [task_id, field] once per distinct value it is set to, sorted: a key listed twice in a row is set to two
# values. Sorting keeps this O(n log n) for DAGs of 10,000 tasks (grouping per key was quadratic).
_keys_by_value := sort([pair[0] | some pair in {[[m.task_id, m.field], m.value] | some m in _mutations}])

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
	some m in _mutations
	not [m.task_id, m.field] in _conflicting
	not m in _unowned
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
unowned_mutation_value contains result.violation(rego.metadata.chain(), m.task_id, message, m) if {
	some m in _unowned
	message := sprintf("rule %s tried to set %s to '%v', which %s may not use", [m.rule, m.field, m.value, team.label])
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
	values := {m.value | some m in _mutations; m.task_id == task_id; m.field == field}
	message := sprintf("rules disagree on %s: %v", [field, sort(values)])
	details := {"field": field, "values": sort(values)}
}

# One object built once: a partial-object rule would be re-evaluated over every mutation on each lookup,
# which makes a DAG of 10,000 tasks quadratic.
# regal ignore:prefer-set-or-object-rule
_applied_values := {[m.task_id, m.field]: m.value | some m in _applied_mutations}

_applied_fields contains m.field if some m in _applied_mutations

# Fields a mutation does not set have no value here, so they are left out.
_changes(task_id) := {field: _applied_values[[task_id, field]] | some field in _applied_fields}

_mutated_input := object.union(input, {
	"dag": object.union(input.dag, _changes(null)),
	"tasks": [object.union(task, _changes(task.task_id)) | some task in input.tasks],
})

_rule_violations := violations if {
	# regal ignore:with-outside-test-context
	violations := {v | some v in _violations} with input as _mutated_input
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
