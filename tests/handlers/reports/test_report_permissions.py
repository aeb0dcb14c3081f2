"""The one rule of what may be done with a saved report (bot.rules.reports.author_may and
admin_may): a returned report is corrected at any age, an unreviewed one is corrected or
deleted within 24 hours, a verified or resubmitted one only by an admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.rules import reports as rules

SAVED = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SOON = SAVED + timedelta(hours=23, minutes=59)
LATE = SAVED + timedelta(hours=24)
MONTH_LATER = SAVED + timedelta(days=30)


@pytest.mark.parametrize(
    ("state", "now", "expected"),
    [
        (rules.PENDING, SOON, {rules.CORRECT, rules.DELETE}),
        (rules.PENDING, LATE, set()),
        (rules.RETURNED, SOON, {rules.CORRECT}),  # returned: never deleted, always corrected
        (rules.RETURNED, MONTH_LATER, {rules.CORRECT}),
        (rules.RESUBMITTED, SOON, set()),  # waiting to be checked again
        (rules.VERIFIED, SOON, set()),
        (rules.VERIFIED, MONTH_LATER, set()),
    ],
)
def test_what_the_author_may_do(state: str, now: datetime, expected: set[str]) -> None:
    assert rules.author_may(state, SAVED, now) == expected


@pytest.mark.parametrize("state", rules.REVIEW_STATES)
def test_an_admin_may_correct_or_void_in_any_state(state: str) -> None:
    assert rules.admin_may(state) == {rules.CORRECT, rules.VOID}
    assert rules.admin_may(state, active=False) == set()


@pytest.mark.parametrize(
    ("last", "state"),
    [(None, "pending"), ("verified", "verified"), ("returned", "returned"),
     ("resubmitted", "resubmitted"), ("closed", "pending")],
)
def test_the_state_is_the_newest_review_step(last: str | None, state: str) -> None:
    assert rules.review_state(last) == state
