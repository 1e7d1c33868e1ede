"""The policy report in Airflow's UI: a Policies page and its JSON endpoint, served by the API server (plugin),
built from what the enforcement points already recorded in Airflow and from the policy OPA holds."""
