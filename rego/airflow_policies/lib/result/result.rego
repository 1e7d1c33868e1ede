# METADATA
# title: Result builders
# description: |
#   Builds every violation and mutation from the METADATA chain of the rule that produces it, so rule ids,
#   titles, remediation texts and default actions are declared once, in the rule's own annotation.
package airflow_policies.lib.result

# METADATA
# title: Violation
# description: |
#   A violation object of the documented decision shape for the rule whose chain is given, carrying the
#   rule's default action; main replaces it with the action in force and adds the matching exception.
violation(chain, task_id, message, details) := {
	"rule": rule_id(chain),
	"title": _title(chain),
	"task_id": task_id,
	"message": message,
	"remediation": _remediation(chain),
	"details": details,
	"action": default_action(chain),
}

# METADATA
# title: Mutation
# description: A mutation object setting one field of a task (or of the DAG when task_id is null).
mutation(chain, task_id, field, value) := {
	"rule": rule_id(chain),
	"task_id": task_id,
	"field": field,
	"value": value,
	"action": default_action(chain),
}

# METADATA
# title: Mutations
# description: |
#   One mutation setting one field of many tasks at once (task_ids, an array), cheaper than one mutation
#   per task for a rule that routes every task of a DAG.
mutations(chain, task_ids, field, value) := {
	"rule": rule_id(chain),
	"task_ids": task_ids,
	"field": field,
	"value": value,
	"action": default_action(chain),
}

# METADATA
# title: Rule id
# scope: document
# description: |
#   The id the rule declares in its METADATA (custom.id). A rule that declares none still reports, under
#   family.rule (package.rule outside airflow_policies.rules), so a missing annotation never silences it.
rule_id(chain) := _declared_id(chain)

rule_id(chain) := _path_id(chain) if not _declared_id(chain)

_declared_id(chain) := [entry.annotations.custom.id | some entry in chain][0]

_path_id(chain) := concat(".", array.slice(chain[0].path, 2, 4)) if chain[0].path[1] == "rules"

_path_id(chain) := concat(".", array.slice(chain[0].path, 1, 3)) if chain[0].path[1] != "rules"

# METADATA
# title: Default action
# scope: document
# description: The action the rule declares (custom.action); deny when it declares none.
default default_action(_) := "deny"

default_action(chain) := [entry.annotations.custom.action | some entry in chain][0]

default _title(_) := ""

_title(chain) := [entry.annotations.title | some entry in chain][0]

default _remediation(_) := ""

_remediation(chain) := [entry.annotations.custom.remediation | some entry in chain][0]
