"""The one decision path: the OPA client and its circuit breaker, the decision model, the verdict with its
failure mode, the decision log and metrics, and :func:`~airflow_policies.decision.decide.decide`, which every
enforcement point calls."""
