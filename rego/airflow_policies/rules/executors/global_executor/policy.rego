# METADATA
# title: Global executor the team may not use
# description: >-
#   The executor the scheduler will give a task, found from the deployment's [core] executor as Airflow finds
#   it, is a global one the registry does not open to teams (global.executors). Airflow lets every team's task
#   run on every global executor (LocalExecutor: on the scheduler's host), gives a task that names a class both
#   a global and its team's executor have the global one, and gives a task that names none the global default
#   when its team has no executor of its own. A DAG of a bundle with no team runs on the global executors
#   by design, and is not judged here.
# custom:
#   id: executors.global_executor
#   remediation: >-
#     Leave executor unset, or name your team's executor by its alias; a platform team opens a global executor
#     to every team by listing it in the registry's global.executors.
#   severity: high
#   action: deny
#   version: 1.0.0
package airflow_policies.rules.executors.global_executor

import data.airflow_policies.lib.result
import data.airflow_policies.lib.team

violation contains result.violation(rego.metadata.chain(), task.task_id, message, details) if {
	count(_closed_globals) > 0
	some task in input.tasks
	executor := _closed_globals[task.executor]
	message := sprintf("task '%s' %s, so the scheduler runs it on the global executor '%s', which %s may not use", [
		task.task_id, _asked(task.executor), executor.names[0], team.label,
	])
	details := {"executor": task.executor, "resolved": executor.names[0], "team": null}
}

# What the tasks ask for (a name, or null for none) -> the global executor the scheduler gives them, where the
# registry does not open it to teams; found once per name, not once per task.
_closed_globals[requested] := executor if {
	is_string(team.name)
	some requested in {task.executor | some task in input.tasks}
	executor := team.executor_for(requested)
	executor.team == null
	not _opened(executor)
}

_opened(executor) if {
	some executor_name in executor.names
	executor_name in data.airflow_policies.registry.global.executors
}

_asked(null) := sprintf("names no executor and %s has none of its own", [team.label])

_asked(executor) := sprintf("names executor '%s'", [executor]) if is_string(executor)
