from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# The suite already runs two workers on two cores: issuing writes workbooks in-process unless a test asks for
# processes (tests/test_issue.py checks that both ways give the same files).
os.environ.setdefault("QTABLES_WORKERS", "1")

from qtables.issue.run import issue_templates  # noqa: E402
from qtables.period import Period  # noqa: E402
from qtables.spec import load_spec  # noqa: E402
from qtables.ledger.workspace import init_workspace  # noqa: E402

TEST_KEY = "5e" * 32


@pytest.fixture(scope="session")
def spec():
    return load_spec()


@pytest.fixture(scope="session")
def workspace(tmp_path_factory):
    return init_workspace(tmp_path_factory.mktemp("ws") / "工作区", signing_key=TEST_KEY)


@pytest.fixture(scope="session")
def quarter_templates(workspace, tmp_path_factory):
    out = tmp_path_factory.mktemp("issued-2025Q3")
    return issue_templates(workspace, period=Period.parse("2025Q3"), out_dir=out)


@pytest.fixture(scope="session")
def annual_templates(workspace, tmp_path_factory):
    out = tmp_path_factory.mktemp("issued-2025")
    return issue_templates(workspace, period=Period.parse("2025"), out_dir=out)


@pytest.fixture(scope="session")
def scoring_templates(workspace, tmp_path_factory):
    """The 考核评分表 for three assessed units, as the 省厅考核组 receives them."""
    out = tmp_path_factory.mktemp("issued-scoring")
    return issue_templates(workspace, period=Period.parse("2025"), out_dir=out, scoring=True,
                           unit_codes=["410100", "410300", "419001"])


@pytest.fixture(scope="session")
def lo_profile(tmp_path_factory):
    import libreoffice

    if libreoffice.SOFFICE is None:
        pytest.fail("LibreOffice is required: run the README test command, which installs it")
    return libreoffice.make_profile(tmp_path_factory.mktemp("lo"))


# The longest modules first: with two workers and whole modules per worker (--dist loadfile), a long module
# scheduled last would leave one worker idle while the other finishes it.
_LONGEST_FIRST = ["test_check_libreoffice.py", "test_libreoffice.py", "test_fuzz_and_properties.py",
                  "test_merge.py", "test_intake.py", "test_hostile.py", "test_periods.py"]


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """One real PostgreSQL server per test worker (qtables/devtools/pgcluster.py); never skipped: the README's test command
    installs the server, and without it the PostgreSQL tests fail."""
    from qtables.devtools import pgcluster

    if pgcluster.bin_dir() is None:
        pytest.fail("PostgreSQL is required: run the README test command, which installs it")
    server = pgcluster.Server().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request):
    """The ledger's backend a test runs on: None for SQLite, else a fresh PostgreSQL database's address."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_server").new_database()
