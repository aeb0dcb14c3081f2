"""The durable inbox (bot/inbox.py): an update is in the database before Telegram is told,
marked done in the same statement as the state it leaves, handled again at start if not done;
the webhook answers only after the insert."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import httpx
import pytest
from telegram import Update
from telegram.error import TelegramError

from bot.apiserver import LocalBotAPIServer
from bot.app import build_application
from bot.fakebot import FakeBotAPI
from bot.simulator import Simulator, texts
from tests.conftest import MEMBER, RED_GROUP, SECRETARY, Org, make_settings, start_sim


async def inbox_rows(sim: Simulator) -> list[tuple[int, int]]:
    rows = await sim.app.services.repos.db.fetchall("SELECT update_id, done FROM inbox ORDER BY update_id")
    return [(r[0], r[1]) for r in rows]


def message_update(update_id: int, text: str, user: int = SECRETARY) -> dict:
    content: dict = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_764_500_000,
            "chat": {"id": user, "type": "private", "first_name": "孙"},
            "from": {"id": user, "is_bot": False, "first_name": "孙"},
            **content,
        },
    }


async def wait_until(predicate, within: float = 10.0) -> None:
    """Let the event loop run until ``predicate()`` (async) holds: no fixed sleep."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


async def test_an_update_is_stored_before_it_is_queued_and_a_redelivery_is_dropped(sim: Simulator, org: Org) -> None:
    update = Update.de_json(message_update(41, "/report"), sim.app.bot)
    await sim.app.update_queue.put(update)
    assert await inbox_rows(sim) == [(41, 0)]
    assert sim.app.update_queue.qsize() == 1
    await sim.app.update_queue.put(Update.de_json(message_update(41, "/report"), sim.app.bot))  # again
    assert sim.app.update_queue.qsize() == 1
    assert await inbox_rows(sim) == [(41, 0)]


async def test_handling_marks_the_row_done_with_the_state_it_leaves(sim: Simulator, org: Org) -> None:
    sim.durable = True
    (question,) = texts(await sim.send("/report", SECRETARY))
    assert "哪一天" in question
    [(_, done)] = await inbox_rows(sim)
    assert done == 1
    db = sim.app.services.repos.db
    [data] = await db.fetchall("SELECT data FROM ptb_user_data WHERE user_id = ?", (SECRETARY,))
    stored = json.loads(data[0])
    assert "report" in stored and stored["open_form"] == "report"  # the draft, and the form open


async def test_a_failed_flush_leaves_the_update_to_be_handled_again(sim: Simulator, org: Org, monkeypatch) -> None:
    sim.durable = True
    state = sim.app.services.repos.state

    async def fail(rows) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(state, "write", fail)
    with pytest.raises(OSError):
        await sim.send("/report", SECRETARY)
    assert await inbox_rows(sim) == [(1, 0)]
    assert sim.app.persistence.staged > 0  # kept for the next commit


async def test_updates_not_done_are_handled_again_at_start_in_order(settings, org: Org, sim: Simulator) -> None:
    # a bot that stored two updates and died before handling them
    for update_id, text in ((7, "/report"), (8, "昨天")):
        assert await sim.app.accept_update(Update.de_json(message_update(update_id, text), sim.app.bot))
    await sim.stop()

    api = FakeBotAPI()
    again = await start_sim(settings, api, jobs=True)  # start(): the application reads its queue
    try:
        async def both_done() -> bool:
            return await inbox_rows(again) == [(7, 1), (8, 1)]

        await wait_until(both_done)
        asked, dated = texts(api.calls)[-2:]
        assert "哪一天" in asked
        assert "✅ 日期" in dated  # "昨天" answered the date question: order kept
        assert again.app.user_data[SECRETARY]["report"]["work_date"]
    finally:
        await again.stop()
    sim.started = False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_webhook_answers_only_after_the_update_is_stored(tmp_path: Path, org_db: Path) -> None:
    async with LocalBotAPIServer() as server:
        settings = make_settings(org_db, base_url=server.base_url)
        app = build_application(settings, rate_limit=False)
        await app.initialize()
        port = free_port()
        await app.updater.start_webhook(
            listen="127.0.0.1", port=port, url_path="hook", webhook_url="https://bot.example/hook", secret_token="s3"
        )
        try:
            async with httpx.AsyncClient() as client:
                url = f"http://127.0.0.1:{port}/hook"
                headers = {"X-Telegram-Bot-Api-Secret-Token": "s3"}
                answer = await client.post(url, json=message_update(90, "/help"), headers=headers)
                assert answer.status_code == 200
                rows = await app.services.repos.db.fetchall("SELECT update_id FROM inbox")
                assert [r[0] for r in rows] == [90]  # stored before the 200

                async def refuse(update: Update) -> None:
                    raise OSError("disk gone")

                app.update_queue.store = refuse
                answer = await client.post(url, json=message_update(91, "/help"), headers=headers)
                assert answer.status_code != 200  # Telegram will send it again
        finally:
            await app.updater.stop()
            await app.shutdown()


@pytest.fixture
async def org_db(tmp_path: Path) -> Path:
    from bot.crashdrill import seed

    path = tmp_path / "hook.db"
    await seed(path)
    return path


def test_the_raw_json_of_fetched_updates_is_kept_for_the_inbox() -> None:
    from bot.inbox import RawUpdates

    raw = RawUpdates()
    answer = {"ok": True, "result": [message_update(5, "你好"), message_update(6, "/report")]}
    raw.answer_of(json.dumps(answer, ensure_ascii=False).encode())
    assert json.loads(raw.pop(5) or "") == message_update(5, "你好")
    assert raw.pop(5) is None and raw.pop(6) is not None


def test_a_getupdates_answer_is_parsed_once_and_each_update_kept_as_telegram_sent_it() -> None:
    """The answer parsed for PTB is the standard parse; each update's text is its own slice of
    the answer (Telegram's escapes and spacing kept), not the update serialised again."""
    from bot.inbox import RawUpdates

    first = json.dumps(message_update(7, "你好"))  # ASCII escapes, as Telegram may send them
    second = '{ "update_id" : 8, "message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}} }'
    payload = f'{{"ok":true,"result":[{first}, {second}\n]}}'.encode()
    raw = RawUpdates()
    assert raw.answer_of(payload) == json.loads(payload)
    assert raw.pop(7) == first and raw.pop(8) == second
    # another shape (keys in another order, a key more): parsed the standard way, still kept
    for other in (
        {"result": [message_update(9, "早")], "ok": True},
        {"ok": True, "result": [message_update(9, "早")], "note": 1},
    ):
        assert raw.answer_of(json.dumps(other, ensure_ascii=False).encode()) == other
        assert json.loads(raw.pop(9) or "") == message_update(9, "早")
    # an error answer keeps nothing; bad JSON is PTB's own error
    assert raw.answer_of(b'{"ok":false,"error_code":409,"description":"Conflict"}')["error_code"] == 409
    with pytest.raises(TelegramError, match="Invalid server response"):
        raw.answer_of(b'{"ok":true,"result":[{"update_id":10,')
    assert raw.pop(10) is None


async def test_a_redelivery_after_a_restart_is_dropped_without_handling(settings, org: Org, sim: Simulator) -> None:
    sim.durable = True
    await sim.send("/report", SECRETARY)  # handled and done, but (say) never confirmed
    [(update_id, done)] = await inbox_rows(sim)
    assert done == 1
    await sim.stop()
    api = FakeBotAPI()
    again = await start_sim(settings, api)
    try:
        update = Update.de_json(message_update(update_id, "/report"), again.app.bot)
        await again.app.update_queue.put(update)  # Telegram sends it again
        assert again.app.update_queue.qsize() == 0
    finally:
        await again.stop()
    sim.started = False


async def test_a_quick_update_is_stored_with_its_state_in_one_statement(sim: Simulator, org: Org, monkeypatch) -> None:
    sim.durable = True
    inbox = sim.app.inbox
    separate: list[int] = []
    add_many = inbox.add_many

    async def counting(rows):
        separate.extend(row[0] for row in rows)
        return await add_many(rows)

    monkeypatch.setattr(inbox, "add_many", counting)
    sim.app.inbox_writer.delay = 60.0  # the row waits for the flush (the test's clock never gets there)
    assert "哪一天" in texts(await sim.send("/report", SECRETARY))[-1]
    assert separate == []  # no insert of its own: the flush carried the row
    assert await inbox_rows(sim) == [(1, 1)]
    [data] = await sim.app.services.repos.db.fetchall("SELECT data FROM ptb_user_data WHERE user_id = ?", (SECRETARY,))
    assert "report" in json.loads(data[0])


async def test_a_flush_that_carried_every_row_leaves_no_insert_due(sim: Simulator, org: Org, monkeypatch) -> None:
    """A timer armed for a row its flush carried would store the NEXT update's row on its own
    (a thread hop of its own) before that one's flush could carry it."""
    sim.durable = True
    writer = sim.app.inbox_writer
    writer.delay = 60.0
    for text in ("/report", "/cancel", "/report"):
        await sim.send(text, SECRETARY)
        assert writer.pending == 0 and not writer.armed
    assert await inbox_rows(sim) == [(1, 1), (2, 1), (3, 1)]


async def test_a_slow_update_is_stored_before_its_handling_ends(sim: Simulator, org: Org) -> None:
    sim.app.inbox_writer.delay = 0.0  # no wait for the flush
    update = Update.de_json(message_update(51, "/report"), sim.app.bot)
    await sim.app.update_queue.put(update)  # the application is not running: never handled
    assert await inbox_rows(sim) == [(51, 0)]


class _Telegram:
    """A getUpdates connection that answers one batch, then nothing; it records when it is asked."""

    def __init__(self, batch: list[dict]) -> None:
        self.batch = batch
        self.asked: list[list[tuple[int, int]]] = []
        self.rows = None

    async def do_request(self, url, method, request_data=None, **kwargs):
        self.asked.append(await self.rows())
        batch, self.batch = self.batch, []
        return 200, json.dumps({"ok": True, "result": batch}).encode()


async def test_fetched_updates_are_confirmed_only_once_stored(sim: Simulator, org: Org) -> None:
    from bot.inbox import RawUpdatesRequest

    app = sim.app
    telegram = _Telegram([message_update(61, "你好"), message_update(62, "/help")])
    telegram.rows = lambda: inbox_rows(sim)
    fetching = RawUpdatesRequest(telegram, app.raw_updates)  # type: ignore[arg-type]
    fetching.before_fetch = app.inbox_writer.wait_all
    app.inbox_writer.delay = 60.0  # stored only because the next getUpdates waits for them
    items = await fetching.post("https://api/bot1/getUpdates")  # as Bot.get_updates: parsed once
    assert [item["update_id"] for item in items] == [61, 62]
    for item in items:
        await app.update_queue.put(Update.de_json(item, app.bot))  # as the Updater: returns at once
    assert app.inbox_writer.pending == 2 and await inbox_rows(sim) == []
    # the next getUpdates (its offset confirms 61 and 62) waits while their rows are not stored
    confirming = asyncio.create_task(fetching.do_request("https://api/bot1/getUpdates", "POST"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(telegram.asked) == 1 and not confirming.done()
    await app.inbox_writer.write_pending()  # what the timer does STORE_AFTER after they arrived
    await confirming
    assert telegram.asked == [[], [(61, 0), (62, 0)]]  # both stored before Telegram was asked
    stored = await sim.app.services.repos.db.fetchall("SELECT data FROM inbox ORDER BY update_id")
    assert [row[0] for row in stored] == [json.dumps(message_update(n, text)) for n, text in ((61, "你好"), (62, "/help"))]


async def test_staging_is_done_at_once_and_its_errors_reach_ptb(sim: Simulator, org: Org) -> None:
    """PTB gathers the persistence's update_* calls after each update: here each is a future
    done already (no task, no loop turn); an error is on the future, for PTB's error handlers."""
    persistence = sim.app.persistence
    staged = persistence.staged
    done = persistence.update_user_data(SECRETARY, {"a": 1})
    assert isinstance(done, asyncio.Future) and done.done()
    await done
    assert persistence.staged == staged + 1
    bad = persistence.update_user_data(MEMBER, {"a": {1, 2}})  # not JSON
    [result] = await asyncio.gather(bad, return_exceptions=True)
    assert isinstance(result, TypeError)
    await persistence.update_conversation(name="forms", key=(SECRETARY, SECRETARY), new_state="report:date")
    await persistence.commit()
    assert await sim.app.services.repos.state.conversations("forms") == {(SECRETARY, SECRETARY): "report:date"}


async def test_a_private_update_stages_its_own_data_and_a_group_update_gets_ptb_s_flush(
    sim: Simulator, org: Org, monkeypatch
) -> None:
    """After an update in a private chat its user's data is staged and committed at once, not
    through PTB's flush (which gathers every update_* call: two event-loop turns); an update in
    a group still goes through PTB's flush (a chat can move to a new id there)."""
    from telegram.ext import Application

    flushes: list[int] = []
    ptb_flush = Application.update_persistence

    async def counted(self) -> None:
        flushes.append(1)
        await ptb_flush(self)

    monkeypatch.setattr(Application, "update_persistence", counted)
    sim.durable = True
    await sim.send("/report", SECRETARY)
    await sim.press("昨天", SECRETARY)
    assert flushes == []
    db = sim.app.services.repos.db
    [(data,)] = await db.fetchall("SELECT data FROM ptb_user_data WHERE user_id = ?", (SECRETARY,))
    assert json.loads(data)["report"]["work_date"]  # stored with the update that answered it
    assert [done for _, done in await inbox_rows(sim)] == [1, 1]
    await sim.send("/help", SECRETARY, RED_GROUP)
    assert flushes == [1]


async def test_a_feed_through_the_queue_is_handled_by_ptb_s_fetcher_and_stored_from_the_poll(settings, org: Org) -> None:
    """``Simulator.via_queue`` (bench/reports.py drives both sides so): the update goes the
    polling way, its row from the poll's text, and ``feed`` returns once it is handled and done."""
    api = FakeBotAPI()
    sim = await start_sim(settings, api, jobs=True)
    try:
        sim.via_queue = True
        fetched: list[int] = []
        answer_of = sim.app.raw_updates.answer_of

        def parsed(payload: bytes) -> dict:
            answer = answer_of(payload)
            fetched.extend(item["update_id"] for item in answer["result"])
            return answer

        sim.app.raw_updates.answer_of = parsed
        (question,) = texts(await sim.send("/report", SECRETARY))
        assert "哪一天" in question
        assert fetched == [1]
        assert await inbox_rows(sim) == [(1, 1)]  # handled and marked done before feed returned
        [stored] = await sim.app.services.repos.db.fetchall("SELECT data FROM inbox WHERE update_id = 1")
        assert json.loads(stored[0])["message"]["text"] == "/report"
        assert sim.app.update_queue.qsize() == 0
        assert "✅ 日期" in texts(await sim.press("昨天", SECRETARY))[0]
        rows = await inbox_rows(sim)
        assert len(rows) == 2 and all(done for _, done in rows)
    finally:
        await sim.stop()
