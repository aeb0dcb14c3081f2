"""A When step's ``confirm``: an answer the form doubts (a far deadline whose year was not
typed) is asked about with 是 / 不是,重新输入 before it is taken; a new answer replaces it."""

from __future__ import annotations

from datetime import datetime

from bot.forms.core import Env, Form, Saved, Screen, When, restart
from tests.helpers.forms import ENV, User


async def _save(env: Env, draft: dict) -> Saved:
    return Saved(Screen("saved"), record=draft["day"])


async def _review(env: Env, draft: dict) -> str:
    return f"review {draft['day'][:10]}"


def _confirm(env: Env, value: datetime, year_inferred: bool) -> str | None:
    return f"sure {value:%Y-%m-%d}?" if year_inferred and value.year > env.now.year else None


FORM = Form("wc", steps=[When("day", ask="toy.ask.day", label="toy.field.day", confirm=_confirm)],
            review=_review, save=_save)


async def test_a_doubtful_answer_is_confirmed_with_buttons_before_it_is_taken() -> None:
    user = User(FORM)
    await user.go(restart(FORM, ENV))
    await user.say("11月底前")  # typed on 22 November 2026: this month, no question
    assert user.state == "wc:review" and "2026-11-30" in user.text()


async def test_yes_takes_it_no_asks_again_and_a_new_answer_replaces_it() -> None:

    user = User(FORM)
    await user.go(restart(FORM, ENV))
    await user.say("1月底")  # the year is inferred: 2027
    assert user.state == "wc:day" and "sure 2027-01-31?" in user.text()
    assert "是" in user.labels() and "不是,重新输入" in user.labels()
    assert "day" not in user.draft  # nothing taken yet
    await user.press("不是,重新输入")
    assert user.state == "wc:day" and "toy.ask.day" in user.text() and "day" not in user.draft
    await user.say("1月底")
    await user.say("2027年1月5日")  # a typed year is not asked about; it replaces the pending one
    assert user.state == "wc:review" and "2027-01-05" in user.text()
    await user.press("返回")
    await user.say("1/31")
    await user.press("是")
    assert user.state == "wc:review" and user.draft["day"].startswith("2027-01-31")


async def test_a_stale_confirmation_is_refused() -> None:

    user = User(FORM)
    await user.go(restart(FORM, ENV))
    await user.say("1月底")
    old = user.message_id
    await user.say("1月底")  # asked again: the earlier message's buttons are stale
    await user.press("是", message_id=old)
    assert user.state == "wc:day" and "day" not in user.draft
