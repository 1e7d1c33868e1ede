# METADATA
# title: Result builders
# description: |
#   Builds every violation and mutation from the METADATA chain of the rule that produces it, so rule ids
#   (taken from the package path), titles and remediation texts are defined once, next to the rule.
package airflow_policies.lib.result

# METADATA
# title: Violation
# description: A violation object of the documented decision shape for the rule whose chain is given.
violation(chain, task_id, message, details) := {
	"rule": rule_id(chain),
	"title": _title(chain),
	"task_id": task_id,
	"message": message,
	"remediation": _remediation(chain),
	"details": details,
}

# METADATA
# title: Mutation
# description: A mutation object setting one field of a task (or of the DAG when task_id is null).
mutation(chain, task_id, field, value) := {
	"rule": rule_id(chain),
	"task_id": task_id,
	"field": field,
	"value": value,
}

# METADATA
# title: Rule id
# scope: document
# description: The id family.rule for rules under airflow_policies.rules, package.rule for anything else.
rule_id(chain) := concat(".", array.slice(chain[0].path, 2, 4)) if chain[0].path[1] == "rules"

rule_id(chain) := concat(".", array.slice(chain[0].path, 1, 3)) if chain[0].path[1] != "rules"

default _title(_) := ""

_title(chain) := [entry.annotations.title | some entry in chain][0]

default _remediation(_) := ""

_remediation(chain) := [entry.annotations.custom.remediation | some entry in chain][0]
