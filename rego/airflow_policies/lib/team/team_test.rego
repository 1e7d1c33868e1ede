package airflow_policies.lib.team_test

import data.airflow_policies.lib.fixtures_test as fixtures
import data.airflow_policies.lib.team

test_usable_resources_are_own_global_and_shared if {
	inp := fixtures.dag({}, [])
	team.usable_connections == {"team_a_postgres", "smtp_default", "kubernetes_default", "team_b_api"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.usable_variables == {"team_a_threshold", "environment_name", "team_b_api_base"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.own_variables == {"team_a_threshold"} with input as inp with data.airflow_policies.registry as fixtures.registry
	team.usable_pools == {"team_a_pool", "shared_pool"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.usable_queues == {"team_a", "team_a_gpu", "shared_queue"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.usable_executors == {"LocalExecutor", "CeleryExecutor"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.consumable_asset_prefixes == {"s3://team-a/", "team_a.", "s3://reference-data/", "s3://team-b/public/"}
		with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.shared_dag_ids == {"team_b__publish"} with input as inp with data.airflow_policies.registry as fixtures.registry
	team.label == "team 'team_a'" with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_shares_are_not_transitive_to_the_owner_or_others if {
	inp := fixtures.dag_of("team_b", {}, [])
	team.usable_connections == {"team_b_api", "team_b_warehouse", "smtp_default", "kubernetes_default"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.shared_dag_ids == set() with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_null_team_owns_only_global_resources if {
	inp := fixtures.dag_of(null, {}, [])
	team.usable_connections == {"smtp_default", "kubernetes_default"} with input as inp
		with data.airflow_policies.registry as fixtures.registry
	team.own_asset_prefixes == set() with input as inp with data.airflow_policies.registry as fixtures.registry
	team.dag_id_prefixes == set() with input as inp with data.airflow_policies.registry as fixtures.registry
	team.label == "a bundle with no team" with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_unknown_team_has_no_record if {
	inp := fixtures.dag_of("team_z", {}, [])
	not team.record with input as inp with data.airflow_policies.registry as fixtures.registry
	team.usable_pools == {"shared_pool"} with input as inp with data.airflow_policies.registry as fixtures.registry
}

test_owners_and_their_label if {
	team.owners(fixtures.registry.teams, "connections", "team_b_api") == {"team_b"}
	team.owners_label({"team_b"}) == "it belongs to team 'team_b'"
	team.owners_label(set()) == "no team owns it"
}

test_asset_key_prefers_uri_then_name if {
	team.asset_key(fixtures.asset("asset", "n", "s3://u")) == "s3://u"
	team.asset_key(fixtures.asset("alias", "team_a.alias", null)) == "team_a.alias"
	not team.asset_key(fixtures.asset("unknown", null, null))
}

test_has_prefix if {
	team.has_prefix("s3://team-a/x", {"s3://team-b/", "s3://team-a/"})
	not team.has_prefix("s3://team-ab/x", {"s3://team-a/"})
}
