"""A TaskFlow task whose executor pod joins the node's network and mounts its Docker socket."""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, task
from kubernetes.client import models as k8s

START = pendulum.datetime(2026, 1, 1, tz="UTC")
SOCKET = k8s.V1Volume(name="docker", host_path=k8s.V1HostPathVolumeSource(path="/var/run/docker.sock"))
ON_THE_NODE = k8s.V1Pod(spec=k8s.V1PodSpec(containers=[], host_network=True, volumes=[SOCKET]))


@task(executor_config={"pod_override": ON_THE_NODE})
def build_image() -> None:
    print("docker build")


with DAG("team_a__etl", schedule=None, start_date=START):
    build_image()
