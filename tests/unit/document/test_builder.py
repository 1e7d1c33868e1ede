"""The input builder, on real Airflow DAG objects."""

from __future__ import annotations

import datetime
from pathlib import Path

import airflow
import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.providers.standard.sensors.external_task import ExternalTaskSensor
from airflow.sdk import DAG, Asset, AssetAlias, AssetWatcher, TaskGroup, setup, task, teardown
from airflow.sdk.definitions.asset import AssetNameRef, AssetUriRef

from airflow_policies.document.builder import build_input
from airflow_policies.document.models import BundleInfo, InputDocument

BUNDLE = BundleInfo(name="team_a_dags", team="team_a")
START = pendulum.datetime(2026, 1, 1, tz="UTC")


def _document(dag: DAG) -> InputDocument:
    return build_input(dag, bundle=BUNDLE, enforcement_point="check")


def _task(document: InputDocument, task_id: str):
    return next(t for t in document.tasks if t.task_id == task_id)


def _conns(info) -> set[tuple[str | None, str, str, bool]]:
    return {(c.conn_id, c.source, c.location, c.verifiable) for c in info.connections}


class TestConnections:
    def test_default_args_connection_is_an_attribute_reference(self):
        """A conn_id that arrives through default_args is found on the task that received it."""
        with DAG("d", schedule=None, start_date=START, default_args={"conn_id": "team_b_warehouse"}) as dag:
            SQLExecuteQueryOperator(task_id="q", sql="select 1")
        assert _conns(_task(_document(dag), "q")) == {("team_b_warehouse", "attribute", "conn_id", True)}

    def test_a_connection_attribute_whose_name_lies_about_itself_is_found(self):
        """An author's str subclass as the attribute name, answering endswith('_conn_id') and == 'conn_id' with
        no: the operator still reads it under its name, so it is a reference."""

        class Quiet(str):
            def endswith(self, *_: object) -> bool:  # type: ignore[override]
                return False

            def __eq__(self, other: object) -> bool:
                return str.__eq__(self, other) if isinstance(other, str) and other != "conn_id" else False

            __hash__ = str.__hash__

        with DAG("d", schedule=None, start_date=START) as dag:
            operator = SQLExecuteQueryOperator(task_id="q", sql="select 1", conn_id="team_a_postgres")
        operator.__dict__[Quiet("warehouse_conn_id")] = "team_b_warehouse"
        assert operator.warehouse_conn_id == "team_b_warehouse"
        assert ("team_b_warehouse", "attribute", "warehouse_conn_id", True) in _conns(_task(_document(dag), "q"))

    @pytest.mark.parametrize("kind", ["falsy", "named ArgNotSet"])
    def test_a_connection_id_that_poses_as_unset_is_found(self, kind):
        """A conn id an author makes falsy, or types as a class named like Airflow's ArgNotSet, is still the
        text the operator connects with."""

        class Falsy(str):
            def __len__(self) -> int:
                return 0

            def __bool__(self) -> bool:
                return False

        ArgNotSet = type("ArgNotSet", (str,), {})  # the name is the disguise
        conn_id = Falsy("team_b_warehouse") if kind == "falsy" else ArgNotSet("team_b_warehouse")
        with DAG("d", schedule=None, start_date=START) as dag:
            SQLExecuteQueryOperator(task_id="q", sql="select 1", conn_id=conn_id)
        assert _conns(_task(_document(dag), "q")) == {("team_b_warehouse", "attribute", "conn_id", True)}

    def test_a_template_that_denies_holding_jinja_is_scanned(self):
        """A templated field whose str subclass answers `in` with no still has its Jinja read: Airflow renders
        the text, not what the object claims."""

        class Plain(str):
            def __contains__(self, _: object) -> bool:  # type: ignore[override]
                return False

        with DAG("d", schedule=None, start_date=START) as dag:
            BashOperator(task_id="b", bash_command=Plain("echo {{ conn.team_b_api.password }}"))
        assert _conns(_task(_document(dag), "b")) == {("team_b_api", "template", "bash_command", True)}

    def test_tasks_repeating_a_template_each_get_its_references(self):
        """A template text is scanned once and its references reused for every task that repeats it."""
        with DAG("d", schedule=None, start_date=START) as dag:
            for index in range(3):
                BashOperator(task_id=f"b{index}", bash_command="echo {{ conn.team_b_api.host }} {{ var.value.x }}")
        document = _document(dag)
        assert [(_conns(t), [v.key for v in t.variables]) for t in document.tasks] == [
            ({("team_b_api", "template", "bash_command", True)}, ["x"])
        ] * 3

    def test_a_str_that_claims_to_equal_a_scanned_template_is_scanned_itself(self):
        """An author's str subclass that compares equal to an innocent template already scanned still reports
        the connection it names: only exact strs are looked up among the templates seen before."""
        innocent = "echo {{ var.value.team_a_threshold }}"

        class Disguised(str):
            def __eq__(self, other: object) -> bool:
                return other == innocent or str.__eq__(self, other)

            def __hash__(self) -> int:
                return hash(innocent)

        with DAG("d", schedule=None, start_date=START) as dag:
            BashOperator(task_id="innocent", bash_command=innocent)
            BashOperator(task_id="disguised", bash_command=Disguised("echo {{ conn.team_b_api.password }}"))
        document = _document(dag)
        assert _conns(_task(document, "innocent")) == set()
        assert _conns(_task(document, "disguised")) == {("team_b_api", "template", "bash_command", True)}

    def test_template_connection_and_variable(self):
        """{{ conn.<id> }} and {{ var.value/json.<key> }} in any templated field are references."""
        with DAG("d", schedule=None, start_date=START) as dag:
            BashOperator(
                task_id="b",
                bash_command="echo {{ conn.team_b_api.host }} {{ var.value.threshold }} "
                "{{ var.json.settings['x'] }} {{ conn['quoted_conn'].login }} {{ var.value.get('by_get') }}",
                env={"K": "{{ conn.get('env_conn').password }}"},
            )
        info = _task(_document(dag), "b")
        assert {c.conn_id for c in info.connections} == {"team_b_api", "quoted_conn", "env_conn"}
        assert all(c.source == "template" and c.verifiable for c in info.connections)
        assert {v.key for v in info.variables} == {"threshold", "settings", "by_get"}

    def test_template_fields_held_in_a_set_are_scanned(self):
        """An operator whose template_fields is a set, not the usual tuple: Airflow renders each of them, so
        each is scanned."""

        class SetFields(BashOperator):
            template_fields = frozenset({"bash_command"})  # type: ignore[assignment]

        with DAG("d", schedule=None, start_date=START) as dag:
            SetFields(task_id="b", bash_command="echo {{ conn.team_b_api.password }}")
        assert _conns(_task(_document(dag), "b")) == {("team_b_api", "template", "bash_command", True)}

    def test_text_outside_jinja_is_not_a_reference(self):
        """'conn.x' in plain text is shell, not a template reference."""
        with DAG("d", schedule=None, start_date=START) as dag:
            BashOperator(task_id="b", bash_command="python -c 'import conn.team_b_api'")
        assert _task(_document(dag), "b").connections == []

    def test_dynamic_template_connection_is_unverifiable(self):
        """A connection chosen by a template expression cannot be checked, so it is flagged."""
        with DAG("d", schedule=None, start_date=START) as dag:
            BashOperator(task_id="b", bash_command="echo {{ conn[params.which].host }}")
        (ref,) = _task(_document(dag), "b").connections
        assert (ref.conn_id, ref.verifiable, ref.source) == (None, False, "template")

    def test_templated_conn_id_is_unverifiable(self):
        """A conn_id attribute holding Jinja is flagged, with its raw text kept."""
        with DAG("d", schedule=None, start_date=START) as dag:
            SQLExecuteQueryOperator(task_id="q", sql="select 1", conn_id="{{ var.value.which_conn }}")
        refs = [c for c in _task(_document(dag), "q").connections if c.source == "attribute"]
        assert [(r.conn_id, r.verifiable, r.raw) for r in refs] == [(None, False, "{{ var.value.which_conn }}")]

    def test_mapped_literal_expand_and_xcom_expand(self):
        """Each literal expand value is a reference; an XComArg expand is one unverifiable reference."""
        with DAG("d", schedule=None, start_date=START) as dag:

            @task
            def pick() -> list[str]:
                return ["x"]

            SQLExecuteQueryOperator.partial(task_id="literal", sql="select 1").expand(conn_id=["a", "b"])
            SQLExecuteQueryOperator.partial(task_id="lazy", sql="select 1").expand(conn_id=pick())
        document = _document(dag)
        literal = _task(document, "literal")
        assert literal.is_mapped
        assert _conns(literal) == {
            ("a", "mapped_expand", "expand:conn_id", True),
            ("b", "mapped_expand", "expand:conn_id", True),
        }
        lazy = _task(document, "lazy").connections
        assert [(c.conn_id, c.verifiable, c.source) for c in lazy] == [(None, False, "mapped_expand")]

    def test_mapped_partial_connection(self):
        """A conn_id given to partial() is an attribute reference of the mapped task."""
        with DAG("d", schedule=None, start_date=START) as dag:
            SQLExecuteQueryOperator.partial(task_id="m", conn_id="team_b_api").expand(sql=["select 1"])
        assert ("team_b_api", "attribute", "conn_id", True) in _conns(_task(_document(dag), "m"))

    def test_expand_kwargs_from_xcom_hides_a_connection(self):
        """expand_kwargs() from an XComArg may set conn_id at run time: flagged unverifiable."""
        with DAG("d", schedule=None, start_date=START) as dag:

            @task
            def kwargs() -> list[dict[str, str]]:
                return [{"conn_id": "x", "sql": "select 1"}]

            SQLExecuteQueryOperator.partial(task_id="m").expand_kwargs(kwargs())
        refs = _task(_document(dag), "m").connections
        assert [(c.verifiable, c.location) for c in refs] == [(False, "expand_kwargs")]

    def test_notifier_connections_at_task_and_dag_level(self):
        """Conn ids inside notifiers in on_*_callback are references of the task or the DAG."""
        notifier = SmtpNotifier(to="a@example.com", smtp_conn_id="team_b_smtp")
        with DAG("d", schedule=None, start_date=START, on_failure_callback=[notifier]) as dag:
            EmptyOperator(task_id="e", on_retry_callback=SmtpNotifier(to="b@example.com", smtp_conn_id="c2"))
        document = _document(dag)
        assert {(c.conn_id, c.location) for c in document.dag.connections} == {
            ("team_b_smtp", "on_failure_callback:SmtpNotifier.smtp_conn_id")
        }
        assert [c.kind for c in document.dag.callbacks] == ["notifier"]
        task_refs = _task(document, "e").connections
        assert [(c.conn_id, c.source) for c in task_refs] == [("c2", "callback")]

    def test_plain_function_callback_is_recorded(self):
        """A function callback is listed as such, with its qualified name."""

        def alert(context: object) -> None:
            """Alert someone."""

        with DAG("d", schedule=None, start_date=START) as dag:
            EmptyOperator(task_id="e", on_failure_callback=alert)
        (callback,) = _task(_document(dag), "e").callbacks
        assert (callback.event, callback.kind) == ("on_failure_callback", "function")
        assert callback.type.endswith("alert")


class TestTasks:
    def test_nested_group_task_keeps_full_id_group_and_pool(self):
        """Tasks in nested groups are present with their full id, innermost group and routing fields."""
        with DAG("d", schedule=None, start_date=START) as dag, TaskGroup("outer"), TaskGroup("inner"):
            BashOperator(
                task_id="t",
                bash_command="true",
                pool="team_b_pool",
                queue="q1",
                pool_slots=2,
                retries=3,
                execution_timeout=datetime.timedelta(minutes=5),
                owner="alice",
                executor_config={"pod": {"image": "x"}, "obj": object()},
                run_as_user="bob",
            )
        info = _task(_document(dag), "outer.inner.t")
        assert (info.task_group, info.pool, info.queue, info.pool_slots) == ("outer.inner", "team_b_pool", "q1", 2)
        assert (info.retries, info.execution_timeout, info.owner, info.run_as_user) == (3, 300.0, "alice", "bob")
        assert info.executor_config == {"pod": {"image": "x"}, "obj": {"__unknown__": "builtins.object"}}

    def test_setup_and_teardown_flags(self):
        """Setup and teardown tasks are marked."""
        with DAG("d", schedule=None, start_date=START) as dag:

            @setup
            def create() -> None: ...

            @teardown
            def delete() -> None: ...

            create() >> delete()
        document = _document(dag)
        assert (_task(document, "create").is_setup, _task(document, "delete").is_teardown) == (True, True)
        assert _task(document, "create").operator.endswith("_PythonDecoratedOperator")

    def test_trigger_and_sensor_targets(self):
        """trigger_dag_id and external_dag_id are DAG references; a templated one is unverifiable."""
        with DAG("d", schedule=None, start_date=START) as dag:
            TriggerDagRunOperator(task_id="trig", trigger_dag_id="team_b__x")
            TriggerDagRunOperator(task_id="trig_tpl", trigger_dag_id="{{ params.target }}")
            ExternalTaskSensor(task_id="wait", external_dag_id="team_b__y", external_task_id="t")
        document = _document(dag)
        assert [(r.dag_id, r.kind, r.verifiable) for r in _task(document, "trig").dag_refs] == [
            ("team_b__x", "trigger", True)
        ]
        assert [(r.dag_id, r.verifiable) for r in _task(document, "trig_tpl").dag_refs] == [(None, False)]
        assert [(r.dag_id, r.kind) for r in _task(document, "wait").dag_refs] == [("team_b__y", "external_sensor")]


class TestAssets:
    def test_schedule_condition_is_walked_to_its_leaves(self):
        """AssetAll/AssetAny trees yield every leaf: assets, aliases, name and uri refs."""
        condition = (Asset("s3://team-a/x") | AssetAlias("team_a.alias")) & (
            AssetNameRef("team_b.name") | AssetUriRef("s3://team-b/y")
        )
        with DAG("d", schedule=condition, start_date=START) as dag:
            EmptyOperator(task_id="e")
        leaves = _document(dag).dag.schedule_assets
        assert [(a.kind, a.name, a.uri) for a in leaves] == [
            ("asset", "s3://team-a/x", "s3://team-a/x"),
            ("alias", "team_a.alias", None),
            ("name_ref", "team_b.name", None),
            ("uri_ref", None, "s3://team-b/y"),
        ]

    def test_watchers_and_their_trigger_connections(self):
        """A watched schedule asset lists its watcher, the trigger class and the connections and callables of the
        kwargs it serializes (what the triggerer rebuilds it with); an attribute it does not serialize never
        reaches the triggerer, so it is not reported."""
        from airflow.triggers.base import BaseEventTrigger

        class PollTrigger(BaseEventTrigger):
            def __init__(self, fs_conn_id: str, on_event_callable: str) -> None:
                super().__init__()
                self.fs_conn_id, self.on_event_callable = fs_conn_id, on_event_callable

            def serialize(self):
                return ("team_a_triggers.Poll", {"fs_conn_id": self.fs_conn_id, "on_event_callable": "os.system"})

            async def run(self):
                yield None

        trigger = PollTrigger("team_b_fs", "os.system")
        trigger.other_conn_id = "never_serialized"
        asset = Asset("s3://team-b/watched", watchers=[AssetWatcher(name="w", trigger=trigger)])
        with DAG("d", schedule=[asset], start_date=START) as dag:
            EmptyOperator(task_id="e")
        document = _document(dag)
        (watcher,) = document.dag.schedule_assets[0].watchers
        assert (watcher.name, watcher.trigger, watcher.callables) == ("w", "team_a_triggers.Poll", ["os.system"])
        assert [(c.conn_id, c.source) for c in document.dag.connections] == [("team_b_fs", "watcher")]

    def test_inlets_outlets_and_unknown_objects(self):
        """Inlets and outlets are described; a non-asset lineage object is kind 'unknown'."""
        with DAG("d", schedule=None, start_date=START) as dag:
            EmptyOperator(task_id="e", inlets=[Asset("s3://team-a/in")], outlets=[Asset("s3://team-a/out"), "file.txt"])
        info = _task(_document(dag), "e")
        assert [a.uri for a in info.inlets] == ["s3://team-a/in"]
        assert [(a.kind, a.uri) for a in info.outlets] == [("asset", "s3://team-a/out"), ("unknown", None)]


class TestOddShapes:
    def test_raising_properties_and_reprs_do_not_break_the_builder(self):
        """An attribute whose read or repr raises becomes an unverifiable reference, not a crash."""

        class Hostile:
            def __repr__(self) -> str:
                raise RuntimeError("no repr for you")

        with DAG("d", schedule=None, start_date=START) as dag:
            op = EmptyOperator(task_id="e")
        op.__dict__["sneaky_conn_id"] = Hostile()
        op.__dict__["loop_conn_id"] = [b"\xff", float("nan")]
        refs = {c.location: c for c in _task(_document(dag), "e").connections}
        assert refs["sneaky_conn_id"].verifiable is False
        assert "failing __repr__" in refs["sneaky_conn_id"].raw
        assert refs["loop_conn_id"].verifiable is False

    def test_cyclic_executor_config_is_cut(self):
        """A self-referencing executor_config is represented without recursing forever."""
        config: dict[str, object] = {}
        config["self"] = config
        with DAG("d", schedule=None, start_date=START) as dag:
            EmptyOperator(task_id="e", executor_config=config)
        assert _task(_document(dag), "e").executor_config == {
            "self": {"__unknown__": "builtins.dict", "reason": "cycle or too deep"}
        }

    def test_document_is_json_round_trippable(self):
        """What the builder produces validates against its own model after a JSON round trip."""
        with DAG("d", schedule=None, start_date=START, tags={"b", "a"}) as dag:
            EmptyOperator(task_id="e")
        document = _document(dag)
        assert InputDocument.model_validate_json(document.model_dump_json()) == document
        assert document.dag.tags == ["a", "b"]


def test_every_airflow_example_dag_builds():
    """The builder handles all of Airflow's own example DAGs without an error."""
    root = Path(airflow.__file__).parent / "example_dags"
    bag = DagBag(dag_folder=root, bundle_path=root, bundle_name="examples", safe_mode=False)
    assert len(bag.dags) > 50
    documents = [_document(dag) for dag in bag.dags.values()]
    assert sum(len(d.tasks) for d in documents) > 100
    assert {d.dag.dag_id for d in documents} == set(bag.dags)


@pytest.mark.parametrize("team", [None, "team_a"])
def test_bundle_and_team_are_copied_verbatim(team):
    """The builder never derives the team itself; it records what the caller resolved."""
    with DAG("d", schedule=None, start_date=START, tags=["team:team_b"], owner_links={}) as dag:
        EmptyOperator(task_id="e", owner="team_b")
    document = build_input(dag, bundle=BundleInfo(name="b", team=team), enforcement_point="cli")
    assert document.bundle == BundleInfo(name="b", team=team)


def test_a_megabyte_template_repeating_one_connection_yields_one_reference():
    """Input documents are bounded by what a field names, not by how long its template is."""
    template = "echo {{ conn.team_b_api.host }} {{ var.value.team_a_threshold }}\n" * 20_000
    with DAG("team_a__long", schedule=None, start_date=START) as dag:
        BashOperator(task_id="b", bash_command=template)
    assert len(template) > 1_000_000
    (task,) = _document(dag).tasks
    assert [(c.conn_id, c.source) for c in task.connections] == [("team_b_api", "template")]
    assert [v.key for v in task.variables] == ["team_a_threshold"]
    assert len(_document(dag).model_dump_json()) < 20_000
