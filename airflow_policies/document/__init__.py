"""The input document: what OPA is told about one DAG (models), and the one builder that describes a live or a
serialized DAG as that document (its tasks, connection and variable uses, asset and DAG references)."""
