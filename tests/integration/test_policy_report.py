"""The Policies page and its JSON endpoint in a running API server, as two users of different teams see them.

One deployment for the module: the demo's three bundles parsed by `airflow dags reserialize` through the
drop-in (with the example registry and rollout on a real OPA), then the API server with SimpleAuthManager
users alice (team A viewer), bob (team B viewer) and an admin. The page is also rendered in a real headless
browser (Debian's chromium through selenium), logged in with alice's session cookie; its screenshot is
written to `.artifacts/policies-page.png`.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_policies.local.opa_server import local_opa
from airflow_policies.local.sandbox import AirflowSandbox, BundleSpec, UserSpec
from tests.conftest import EXAMPLE_DAGS, EXAMPLE_REGISTRY, EXAMPLE_ROLLOUT, REPO

PAGE = "/airflow-policies/"
USERS = {
    "alice": UserSpec(role="viewer", password="alice-pw", teams=("team_a",)),
    "bob": UserSpec(role="viewer", password="bob-pw", teams=("team_b",)),
    "root": UserSpec(role="admin", password="root-pw"),
}
SCREENSHOT = REPO / ".artifacts" / "policies-page.png"


@pytest.fixture(scope="module")
def deployment(tmp_path_factory) -> Iterator[AirflowSandbox]:
    home = tmp_path_factory.mktemp("report") / "home"
    bundles = [
        BundleSpec("team_a_dags", EXAMPLE_DAGS / "team_a", "team_a"),
        BundleSpec("team_b_dags", EXAMPLE_DAGS / "team_b", "team_b"),
        BundleSpec("shared_dags", EXAMPLE_DAGS / "shared", None),
    ]
    with local_opa(EXAMPLE_REGISTRY, rollout=EXAMPLE_ROLLOUT) as url:
        sandbox = AirflowSandbox(home=home, bundles=bundles, opa_url=url, users=USERS)
        sandbox.initialise()
        sandbox.airflow("dags", "reserialize")
        with sandbox.serve():
            yield sandbox


@pytest.fixture(scope="module")
def tokens(deployment) -> dict[str, str]:
    return {name: deployment.token(name) for name in USERS}


def _report(deployment: AirflowSandbox, token: str, **filters: str) -> dict[str, Any]:
    response = requests.get(
        f"{deployment.url}{PAGE}report.json",
        params=filters,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def _dags(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["dag_id"]: d for d in report["dags"]}


def test_each_user_sees_only_the_teams_whose_dags_they_may_read(deployment, tokens):
    alice, bob = _report(deployment, tokens["alice"]), _report(deployment, tokens["bob"])
    assert (alice["teams"], bob["teams"]) == (["team_a"], ["team_b"])
    assert {d["team"] for d in alice["dags"]} <= {"team_a", None}
    assert {d["team"] for d in bob["dags"]} <= {"team_b", None}
    assert "team_a__borrow_connection" in _dags(alice) and "team_a__borrow_connection" not in _dags(bob)
    assert "team_b__reach_across" in _dags(bob) and "team_b__reach_across" not in _dags(alice)
    admin = _report(deployment, tokens["root"])
    assert admin["teams"] == ["team_a", "team_b"]
    assert {"team_a__borrow_connection", "team_b__reach_across", "orphan"} <= set(_dags(admin))


def test_a_rejected_dag_is_listed_with_its_finding_and_the_point_that_decided(deployment, tokens):
    rejected = _dags(_report(deployment, tokens["alice"]))["team_a__borrow_connection"]
    assert (rejected["outcome"], rejected["bundle"], rejected["source"]) == ("rejected", "team_a_dags", "import_error")
    (finding, *_) = [f for f in rejected["findings"] if f["rule"] == "connections.foreign_connection"]
    assert finding["effect"] == "deny" and "team_b" in finding["message"]
    assert finding["remediation"].startswith("Use a connection your team owns")
    assert rejected["enforcement_point"] == "cli"
    assert rejected["dag_url"] is None, "a DAG rejected at its first parse has no page in the Airflow UI"


def test_a_warned_dag_links_to_its_page(deployment, tokens):
    warned = _dags(_report(deployment, tokens["bob"]))["team_b__borrow_gpu"]
    assert (warned["outcome"], warned["source"]) == ("warned", "dag_warning")
    assert [f["rule"] for f in warned["findings"]] == ["queues.foreign_queue"]
    assert warned["dag_url"] == "/dags/team_b__borrow_gpu"


def test_rules_in_force_with_their_action_per_point_for_the_users_team(deployment, tokens):
    rules = {r["id"]: r for r in _report(deployment, tokens["bob"])["rules"]}
    queue = rules["queues.foreign_queue"]["actions"]
    assert set(queue) == {"team_b"}
    assert (queue["team_b"]["dag_processor"], queue["team_b"]["check"]) == ("warn", "deny")
    assert rules["connections.foreign_connection"]["actions"]["team_b"]["execution_api"] == "deny"


def test_exceptions_and_revisions(deployment, tokens):
    alice, bob = _report(deployment, tokens["alice"]), _report(deployment, tokens["bob"])
    assert [(e["id"], e["state"], e["owner"]) for e in alice["exceptions"]] == [
        ("EXC-101", "active", "data-platform@example.com")
    ]
    assert bob["exceptions"] == []
    assert alice["opa_revision"].startswith("sha256:")
    (cli,) = [r for r in alice["revisions"] if r["enforcement_point"] == "cli"]
    assert (cli["policy_revision"], cli["current"]) == (alice["opa_revision"], True)


def test_filters_by_rule_and_team(deployment, tokens):
    by_rule = _report(deployment, tokens["root"], rule="connections.foreign_connection")
    assert by_rule["dags"], "the demo has DAGs using another team's connection"
    assert {f["rule"] for d in by_rule["dags"] for f in d["findings"]} == {"connections.foreign_connection"}
    assert [r["id"] for r in by_rule["rules"]] == ["connections.foreign_connection"]
    by_team = _report(deployment, tokens["root"], team="team_b")
    assert {d["team"] for d in by_team["dags"]} == {"team_b"}
    # A team the user may not read is not a filter they can use to see it.
    assert {d["team"] for d in _report(deployment, tokens["alice"], team="team_b")["dags"]} <= {"team_a", None}


def test_each_components_posture_at_start_is_on_the_page_for_its_teams(deployment, tokens):
    """The scheduler (LocalExecutor for both teams) and the API server checked themselves at start: the admin sees
    the scheduler's findings for both teams and an API server with none; alice sees team A's only."""
    admin = {p["component"]: p for p in _report(deployment, tokens["root"])["posture"]}
    assert {"scheduler", "api-server"} <= set(admin)
    scheduler = {(f["check"], f["team"]) for f in admin["scheduler"]["findings"]}
    assert {(check, team) for check in ("signing_key", "metadata_db") for team in ("team_a", "team_b")} <= scheduler
    assert admin["api-server"]["findings"] == []
    alice = {p["component"]: p for p in _report(deployment, tokens["alice"])["posture"]}
    assert alice["scheduler"]["teams"] == ["team_a"]
    assert {f["team"] for f in alice["scheduler"]["findings"]} == {"team_a"}
    page = requests.get(f"{deployment.url}{PAGE}", headers={"Authorization": f"Bearer {tokens['alice']}"}, timeout=60)
    assert 'data-check="signing_key"' in page.text and "No refusal recorded." in page.text


def test_without_a_login_nothing_is_shown(deployment):
    assert requests.get(f"{deployment.url}{PAGE}report.json", timeout=30).status_code == 401
    assert requests.get(f"{deployment.url}{PAGE}", timeout=30).status_code == 401


def test_the_page_is_in_the_airflow_ui_navigation(deployment, tokens):
    plugins = requests.get(
        f"{deployment.url}/api/v2/plugins", headers={"Authorization": f"Bearer {tokens['root']}"}, timeout=30
    ).json()["plugins"]
    views = [v for p in plugins for v in p["external_views"]]
    assert {"name": "Policies", "href": PAGE, "destination": "nav"}.items() <= next(
        v for v in views if v["name"] == "Policies"
    ).items()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1800",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_the_page_renders_in_a_real_browser_and_its_filter_works(deployment, tokens, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    browser.get(f"{deployment.url}/api/v2/version")  # the cookie's origin
    browser.add_cookie({"name": "_token", "value": tokens["alice"], "path": "/"})
    browser.get(f"{deployment.url}{PAGE}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Policies"
    rows = {row.get_attribute("data-dag-id"): row for row in browser.find_elements(By.CSS_SELECTOR, "tr.dag")}
    assert "team_a__borrow_connection" in rows and "team_b__reach_across" not in rows
    assert "connections.foreign_connection" in rows["team_a__borrow_connection"].text
    SCREENSHOT.parent.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(SCREENSHOT))
    assert Path(SCREENSHOT).stat().st_size > 10_000

    Select(browser.find_element(By.ID, "rule")).select_by_value("dag_ids.namespace")
    browser.find_element(By.ID, "apply").click()
    # The form's submission is a new page load: wait for it, not for the click to return.
    WebDriverWait(browser, 60).until(
        lambda driver: (
            "rule=dag_ids.namespace" in driver.current_url
            and driver.execute_script("return document.readyState") == "complete"
        )
    )
    rules = {f.get_attribute("data-rule") for f in browser.find_elements(By.CSS_SELECTOR, "li.finding")}
    assert rules == {"dag_ids.namespace"}
    listed = {row.get_attribute("data-dag-id") for row in browser.find_elements(By.CSS_SELECTOR, "tr.dag")}
    assert "team_a__borrow_connection" not in listed


def test_the_demo_serves_the_page_and_says_where(tmp_path):
    """`demo --serve` prints the Policies page's URL and the demo logins; the page answers there until Ctrl-C."""
    command = [sys.executable, "-m", "airflow_policies.cli", "demo", "--serve", "--workdir", str(tmp_path / "demo")]
    # Ctrl-C reaches the demo as from a terminal even when this test runs in a background job, whose commands
    # inherit SIGINT ignored (POSIX, without job control) and would never see the signal below.
    demo = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines = []
        assert demo.stdout is not None
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C stops"):
                break
        output = "".join(lines)
        page = re.search(r"Policies page: (http://127\.0\.0\.1:\d+/airflow-policies/)", output)
        assert page, output
        assert "log in as alice / alice  (viewer, sees team_a)" in output
        base = page[1].removesuffix("/airflow-policies/")
        token = requests.post(f"{base}/auth/token", json={"username": "alice", "password": "alice"}, timeout=30)
        report = requests.get(
            f"{page[1]}report.json", headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=60
        ).json()
        assert "team_a__borrow_connection" in {d["dag_id"] for d in report["dags"]}
    finally:
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=120) == 0
