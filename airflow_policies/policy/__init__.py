"""What policy authors and operators edit and ship: the team registry, the rollout file, team layers, the rule
index, rule samples and golden inputs, OPA bundles, and the sync of ownership from Airflow."""
