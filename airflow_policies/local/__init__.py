"""The embedded default for the demo and tests: a local OPA and bundle server, a private PostgreSQL, a throw-away
multi-team Airflow deployment, and helpers for tests. Production code never imports this subpackage."""
