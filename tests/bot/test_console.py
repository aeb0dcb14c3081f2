"""The offline console: piped input, buttons by number, console commands, clean exit."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.console import LineReader, parse_moment, run_console
from bot.rules.deadlines import DEFAULT_TASK_LEADS
from tests.conftest import make_settings, start_sim

ROOT = Path(__file__).resolve().parents[2]


async def console(lines: list[str], tmp_path: Path, **kwargs) -> str:
    out = io.StringIO()
    settings = make_settings(tmp_path / "console.db", token=None)
    code = await run_console(
        settings, user_id=kwargs.pop("user_id", 10001), name="测试", stdin=io.StringIO("\n".join(lines) + "\n"),
        stdout=out, **kwargs,
    )
    assert code == 0
    return out.getvalue()


async def test_piped_input_shows_replies_and_buttons(tmp_path: Path) -> None:
    out = await console(["/start", "/lang", "#2", "/help", "#9"], tmp_path)
    assert "邀请链接" in out  # /start for a stranger, in Chinese
    assert "[#1] 中文  [#2] English" in out
    assert "Done: I will talk to you in English from now on." in out
    assert "Commands you can use" in out
    assert "没有第 9 个按钮" in out or "There is no button 9" in out


async def test_console_commands_send_media_and_switch(tmp_path: Path) -> None:
    picture = tmp_path / "p.png"
    picture.write_bytes(b"\x89PNG test")
    out = await console(
        [f"/photo {picture}", "/location 34.5 109.5", f"/file {picture}", "/voice", "/as 20002 小王",
         "/chat -100300", "/help", "/photo /no/such/file", "/quit", "/help"],
        tmp_path,
    )
    assert out.count("您还没有加入") == 4  # photo, location, file, voice from a stranger: how to join
    assert "现在以用户 20002 的身份发消息" in out
    assert "现在在聊天 -100300 中发消息" in out
    assert "[-100300] 可以使用的命令" in out
    assert "/photo 的用法不对" in out
    assert out.rstrip().endswith("> /quit")  # nothing processed after /quit


async def test_end_of_input_exits_cleanly(tmp_path: Path) -> None:
    assert "离线控制台" in await console([], tmp_path)


def test_demo_console_from_the_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CADRE_"))}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whichever copy is installed
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--demo"],
        input="/start\n/help\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "您好" in result.stdout and "村(社区)党组织书记" in result.stdout
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "cadre.db").exists()  # the demo never touches ./cadre.db


def test_db_upgrade_and_backup_commands(tmp_path: Path) -> None:
    env = dict(os.environ, CADRE_DB=str(tmp_path / "c.db"))
    up = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert up.returncode == 0 and "applied migrations" in up.stdout
    again = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], capture_output=True, text=True, env=env, timeout=60)
    assert "up to date" in again.stdout
    backup = subprocess.run(
        [sys.executable, "-m", "bot", "db", "backup", str(tmp_path / "b.db")], capture_output=True, text=True, env=env, timeout=60
    )
    assert backup.returncode == 0 and (tmp_path / "b.db").stat().st_size > 0


# -- what is scheduled shows up in the console ------------------------------------------------
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)  # the console's wall clock in these tests
SECRETARY_ID, ADMIN_ID, VILLAGE_GROUP = 30001, 30002, -100777


async def seed_township(settings) -> None:
    """东风镇 with 红旗村 (secretary 30001, whose group -100777 gets bulletins), a task due
    2026-12-25 17:00 for 红旗村, created on 1 December."""
    sim = await start_sim(settings)
    try:
        repos = sim.app.services.repos
        district = await repos.org.add_unit("示例区", "district")
        township = await repos.org.add_unit("东风镇", "township", district.id)
        village = await repos.org.add_unit("红旗村", "village", township.id, stars=3)
        admin = await repos.org.add_person("钱镇长", "township_admin", township.id, telegram_id=ADMIN_ID)
        secretary = await repos.org.add_person("孙书记", "secretary", village.id, telegram_id=SECRETARY_ID)
        await repos.chats.bind(VILLAGE_GROUP, "红旗村党员群", village.id, secretary.id, kinds=("reminders", "bulletins"))
        await repos.tasks.create(
            token="console-task", title="清理河道垃圾", description="", deadline=datetime(2026, 12, 25, 17, 0, tzinfo=TZ),
            leads=[lead.code for lead in DEFAULT_TASK_LEADS], created_by=admin.id, scope_unit_id=township.id,
            unit_ids=[village.id], now=START,
        )
    finally:
        await sim.stop()


async def clocked_console(lines: list[str], tmp_path: Path, user_id: int = SECRETARY_ID) -> str:
    settings = make_settings(tmp_path / "clocked.db", token=None)
    await seed_township(settings)
    out = io.StringIO()
    code = await run_console(
        settings, user_id=user_id, name="孙书记", stdin=io.StringIO("\n".join(lines) + "\n"), stdout=out,
        wall=lambda: START.astimezone(UTC),
    )
    assert code == 0
    return out.getvalue()


def after(out: str, line: str) -> str:
    """What the console printed after the input line ``line`` up to the next input line."""
    rest = out.split(f"> {line}\n", 1)[1]
    return rest.split("\n> ", 1)[0]


async def test_time_moves_the_clock_and_pushes_arrive(tmp_path: Path) -> None:
    out = await clocked_console(
        ["/time", "/time 2026-12-24 09:00", "/time 12月26日9点", "/tasks", "/time 2027-01-01 09:00", "/time +1h"],
        tmp_path,
    )
    assert "控制台时间:2026-12-01 08:00" in after(out, "/time")
    reminder = after(out, "/time 2026-12-24 09:00")
    assert "控制台时间:2026-12-24 09:00" in reminder
    assert "清理河道垃圾" in reminder  # the reminder before the deadline, to the secretary...
    assert "[-100777]" in reminder  # ...and to the village's group
    overdue = after(out, "/time 12月26日9点")
    assert "清理河道垃圾" in overdue and "已过" in overdue  # the day after the deadline...
    assert f"[{ADMIN_ID}] 📋【任务进展】清理河道垃圾" in overdue  # ...and the township admin hears of it
    bulletin = after(out, "/time 2027-01-01 09:00")
    assert "[-100777]" in bulletin and "2026年12月" in bulletin and "通报" in bulletin
    assert "清理河道垃圾" not in after(out, "/time +1h")  # nothing is sent twice


async def test_time_refuses_the_past_and_nonsense(tmp_path: Path) -> None:
    out = await clocked_console(["/time 2026-11-01", "/time 下雨天", "/time"], tmp_path)
    assert "看不懂时间“2026-11-01”" in out and "看不懂时间“下雨天”" in out
    assert "控制台时间:2026-12-01 08:00" in after(out, "/time")


def test_parse_moment_is_lenient() -> None:
    now = START
    assert parse_moment("2026-12-24 09:00", now, "Asia/Shanghai") == datetime(2026, 12, 24, 9, 0, tzinfo=TZ)
    assert parse_moment("2026-12-24T09:00", now, "Asia/Shanghai") == datetime(2026, 12, 24, 9, 0, tzinfo=TZ)
    assert parse_moment("12月24日", now, "Asia/Shanghai") == datetime(2026, 12, 24, 9, 0, tzinfo=TZ)
    assert parse_moment("+3d", now, "Asia/Shanghai") == now + timedelta(days=3)
    assert parse_moment("+2h", now, "Asia/Shanghai") == now + timedelta(hours=2)
    assert parse_moment("昨天", now, "Asia/Shanghai") is None


async def test_reading_input_does_not_block_the_loop() -> None:
    """A reader waiting on a silent stream leaves the loop free (a job gets to run)."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end) as stream, os.fdopen(write_end, "w") as writer:
        reader = LineReader(stream, asyncio.get_running_loop())
        waiting = asyncio.create_task(reader.readline())
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0)
            ticks += 1
        assert ticks == 5 and not waiting.done()
        writer.write("你好\n")
        writer.flush()
        assert await asyncio.wait_for(waiting, 5) == "你好\n"
    assert await asyncio.wait_for(reader.readline(), 5) is None


async def test_documents_are_saved_under_their_own_names(tmp_path: Path) -> None:
    out = await clocked_console(["/as 30002 钱镇长", "/bulletin 2026年11月"], tmp_path)
    saved = [line for line in out.splitlines() if "[document]" in line]
    assert len(saved) == 1 and saved[0].endswith("东风镇2026年11月工作通报.docx)")
    path = Path(saved[0].rsplit("已保存到 ", 1)[1].rstrip(")"))
    assert path.read_bytes().startswith(b"PK")  # a real .docx (a zip)


async def test_demo_with_a_db_path_is_made_there_once_and_kept(tmp_path: Path) -> None:
    """``--demo --db PATH``: the sample district goes into PATH the first time; the next time
    the console opens PATH as it is (no second copy of the roster, the user's work kept)."""
    first = await console(["/start"], tmp_path, demo=True)
    assert "您好" in first and "已经有数据" not in first
    assert (tmp_path / "console.db").exists()
    again = await console(["/start"], tmp_path, demo=True)
    assert "已经有数据" in again and "您好" in again  # the console user is still the secretary
