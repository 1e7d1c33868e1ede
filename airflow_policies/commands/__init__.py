"""The ``airflow-policies`` commands, one module each; nothing else in the package imports them."""
