"""The offline console: piped input, buttons by number, console commands, clean exit."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.console import run_console
from tests.conftest import make_settings


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
    assert out.count("我没看懂") == 4  # photo, location, file, voice: nobody expects them yet
    assert "现在以用户 20002 的身份发消息" in out
    assert "现在在聊天 -100300 中发消息" in out
    assert "[-100300] 可以使用的命令" in out
    assert "/photo 的用法不对" in out
    assert out.rstrip().endswith("> /quit")  # nothing processed after /quit


async def test_end_of_input_exits_cleanly(tmp_path: Path) -> None:
    assert "离线控制台" in await console([], tmp_path)


def test_demo_console_from_the_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CADRE_"))}
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
