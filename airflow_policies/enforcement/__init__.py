"""The enforcement points: one module per place in Airflow where a decision is enforced (parse-time cluster
policy, DAG-processor manager, scheduler, Execution API), each the only module touching its Airflow internal."""
