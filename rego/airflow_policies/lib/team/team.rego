# METADATA
# title: The DAG's team
# description: |
#   What the team of the input DAG's bundle may use, computed from the registry at
#   data.airflow_policies.registry: its own resources, global ones, and those other teams share with it.
#   The team is input.bundle.team, which the Python side resolves from the bundle only. A null or
#   unregistered team owns nothing, so every rule built on these sets fails closed.
package airflow_policies.lib.team

import data.airflow_policies.registry

# METADATA
# title: Team name
# description: The team of the DAG's bundle, or null.
name := input.bundle.team

# METADATA
# title: Registry record
# description: The registry entry of the team; undefined for a null or unknown team.
record := registry.teams[name]

# METADATA
# title: Team label
# scope: document
# description: How messages name the team.
default label := "a bundle with no team"

label := sprintf("team '%s'", [name]) if is_string(name)

_shares_with_team contains share if {
	some share in registry.shares
	name in share["with"]
}

# METADATA
# title: Usable connections
# scope: document
# description: Connections the team owns, global ones, and those shared with the team.
usable_connections contains conn_id if some conn_id in record.connections

usable_connections contains conn_id if some conn_id in registry.global.connections

usable_connections contains conn_id if {
	some share in _shares_with_team
	some conn_id in share.connections
}

# METADATA
# title: Usable variables
# scope: document
# description: Variables the team owns, global ones, and those shared with the team.
usable_variables contains key if some key in record.variables

usable_variables contains key if some key in registry.global.variables

usable_variables contains key if {
	some share in _shares_with_team
	some key in share.variables
}

# METADATA
# title: Own variables
# description: Variables the team owns; the only ones it may write or delete.
own_variables contains key if some key in record.variables

# METADATA
# title: Usable pools
# scope: document
# description: Pools the team owns and global pools.
usable_pools contains pool if some pool in record.pools

usable_pools contains pool if some pool in registry.global.pools

# METADATA
# title: Usable queues
# scope: document
# description: Queues the team owns and global queues.
usable_queues contains queue if some queue in record.queues

usable_queues contains queue if some queue in registry.global.queues

# METADATA
# title: Usable executors
# scope: document
# description: Executors configured for the team and global executors.
usable_executors contains executor if some executor in record.executors

usable_executors contains executor if some executor in registry.global.executors

# METADATA
# title: The executor the scheduler gives a task
# scope: document
# description: |
#   Which of input.airflow.executors the scheduler runs a task on, found as Airflow 3.3's scheduler finds it
#   (_try_to_load_executor): a task that names an executor gets the first configured one, global ones first,
#   that answers to the name and is global or the team's; a task that names none gets its team's first
#   executor, else the first global one. Undefined when none answers (Airflow then never queues the task).
executor_for(executor) := found[0] if {
	is_string(executor)
	found := [e | some e in input.airflow.executors; executor in e.names; e.team in {null, name}]
	count(found) > 0
}

executor_for(null) := _own_executors[0] if count(_own_executors) > 0

executor_for(null) := _global_executors[0] if {
	count(_own_executors) == 0
	count(_global_executors) > 0
}

_own_executors := [e | is_string(name); some e in input.airflow.executors; e.team == name]

_global_executors := [e | some e in input.airflow.executors; e.team == null]

# METADATA
# title: Usable trigger classes
# scope: document
# description: Trigger classpaths (or module prefixes ending in ".") the team lists, and global ones.
usable_triggers contains entry if some entry in record.triggers

usable_triggers contains entry if some entry in registry.global.triggers

# METADATA
# title: Usable trigger callables
# scope: document
# description: Callables a trigger may import (dotted paths or prefixes ending in "."), the team's and global.
usable_trigger_callables contains entry if some entry in record.trigger_callables

usable_trigger_callables contains entry if some entry in registry.global.trigger_callables

# METADATA
# title: Listed
# scope: document
# description: Whether a dotted path is one of the entries, or under one that ends in ".".
listed(path, entries) if path in entries

listed(path, entries) if {
	some entry in entries
	endswith(entry, ".")
	startswith(path, entry)
}

# METADATA
# title: Own asset prefixes
# description: Asset URI (or name) prefixes the team owns; the only places it may produce into.
own_asset_prefixes contains prefix if some prefix in record.asset_prefixes

# METADATA
# title: Consumable asset prefixes
# scope: document
# description: Own, global and shared asset prefixes; the assets the team may consume.
consumable_asset_prefixes contains prefix if some prefix in own_asset_prefixes

consumable_asset_prefixes contains prefix if some prefix in registry.global.asset_prefixes

consumable_asset_prefixes contains prefix if {
	some share in _shares_with_team
	some prefix in share.asset_prefixes
}

# METADATA
# title: Own dag_id prefixes
# description: The team's dag_id namespace.
dag_id_prefixes contains prefix if some prefix in record.dag_id_prefixes

# METADATA
# title: Shared DAG ids
# description: Other teams' DAGs the team may trigger or wait for.
shared_dag_ids contains dag_id if {
	some share in _shares_with_team
	some dag_id in share.dag_ids
}

# METADATA
# title: Owners
# description: The registered teams listing value under key (connections, pools, ...) as their own.
owners(teams, key, value) := {team | some team, entry in teams; value in entry[key]}

# METADATA
# title: Owners label
# scope: document
# description: A message fragment naming the owning teams, or saying nobody owns the value.
owners_label(owning) := sprintf("it belongs to %s", [listing(owning)]) if count(owning) > 0

owners_label(owning) := "no team owns it" if count(owning) == 0

# METADATA
# title: Team listing
# description: Names a set of teams in a message, e.g. team 'a', team 'b'.
listing(teams) := concat(", ", [sprintf("team '%s'", [t]) | some t in teams])

# METADATA
# title: Asset key
# scope: document
# description: What asset prefixes are matched against, the URI when known, else the name.
asset_key(asset) := asset.uri if is_string(asset.uri)

asset_key(asset) := asset.name if {
	not is_string(asset.uri)
	is_string(asset.name)
}

# METADATA
# title: Prefix match
# description: Whether value starts with one of the prefixes.
has_prefix(value, prefixes) if {
	some prefix in prefixes
	startswith(value, prefix)
}
