"""Shared fixtures: the personas every permission test uses, and CI's no-skip rule."""

from __future__ import annotations

from typing import Any

import pytest

from tests.requirements import REQUIRE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Production-mode tests need the settings of a production process; they run
    # in their own pytest pass (see `make pytest`), never mixed with embedded ones.
    from django.conf import settings

    embedded = settings.EMBEDDED
    keep, drop = [], []
    for item in items:
        is_production = item.get_closest_marker("production") is not None
        (drop if is_production == embedded else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # In CI a skipped test is a test that did not run: fail the session.
    if not REQUIRE:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        if reporter:
            reporter.write_line(
                f"FAULTLINE_REQUIRE_SERVICES=1: {skipped} test(s) skipped, which CI forbids",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # Every persona and demo user gets a password; the default hasher costs ~0.3 s
    # for each (more on a loaded machine), which was most of many tests' set-up.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def personas(db: Any) -> dict[str, Any]:
    """An interviewer, a hiring manager and an outsider (staff with no role)."""
    from django.contrib.auth.models import Group, User

    from accounts.roles import HIRING_MANAGERS, INTERVIEWERS, ensure_roles

    ensure_roles()
    interviewer = User.objects.create_user("ivy", password="pw-ivy-12345")
    interviewer.groups.add(Group.objects.get(name=INTERVIEWERS))
    manager = User.objects.create_user("hank", password="pw-hank-12345")
    manager.groups.add(Group.objects.get(name=HIRING_MANAGERS))
    outsider = User.objects.create_user("olga", password="pw-olga-12345")
    return {"interviewer": interviewer, "hiring_manager": manager, "outsider": outsider}
