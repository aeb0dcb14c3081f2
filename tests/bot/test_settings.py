"""Settings: defaults, a missing token, malformed values, .env files, and the CLI's exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError

TOKEN = {"TELEGRAM_BOT_TOKEN": "123456:ABC"}


def test_defaults() -> None:
    s = Settings.from_env(TOKEN, dotenv=None)
    assert s.db_path == Path("cadre.db")
    assert s.tz_name == "Asia/Shanghai"
    assert s.locale == "zh_CN"
    assert (s.listen_host, s.listen_port) == ("127.0.0.1", 8443)
    assert s.admin_chat is None and s.webhook_url is None and s.base_url is None


def test_every_variable_is_read() -> None:
    env = TOKEN | {
        "CADRE_DB": "/tmp/x.db",
        "CADRE_TZ": "Europe/Berlin",
        "CADRE_LOCALE": "en",
        "TELEGRAM_BASE_URL": "http://127.0.0.1:8081/bot",
        "TELEGRAM_BASE_FILE_URL": "http://127.0.0.1:8081/file/bot",
        "CADRE_ADMIN_CHAT": "-100123",
        "TELEGRAM_WEBHOOK_URL": "https://example.org/hook",
        "CADRE_LISTEN": "0.0.0.0:9000",
        "CADRE_BULLETIN_AT": "2 08:30",
        "CADRE_INVITE_DAYS": "14",
    }
    s = Settings.from_env(env, dotenv=None)
    assert s.db_path == Path("/tmp/x.db") and s.tz_name == "Europe/Berlin" and s.locale == "en"
    assert s.base_url == "http://127.0.0.1:8081/bot"
    assert s.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert s.admin_chat == -100123
    assert s.webhook_url == "https://example.org/hook"
    assert (s.listen_host, s.listen_port) == ("0.0.0.0", 9000)
    assert (s.bulletin_day, s.bulletin_time.hour, s.bulletin_time.minute) == (2, 8, 30)
    assert s.invite_days == 14


def test_missing_token_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN"):
        Settings.from_env({}, dotenv=None)
    assert Settings.from_env({}, require_token=False, dotenv=None).token is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", "no-colon"),
        ("CADRE_TZ", "Mars/Olympus"),
        ("CADRE_LOCALE", "fr"),
        ("CADRE_ADMIN_CHAT", "admins"),
        ("CADRE_LISTEN", "localhost"),
        ("TELEGRAM_WEBHOOK_URL", "http://insecure.example"),
        ("CADRE_REPORT_MAX_AGE_DAYS", "-3"),
        ("CADRE_BULLETIN_AT", "31 09:00"),
        ("CADRE_BULLETIN_AT", "monthly"),
        ("CADRE_INVITE_DAYS", "0"),
        ("CADRE_INVITE_DAYS", "a week"),
    ],
)
def test_malformed_values_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(SettingsError, match=key):
        Settings.from_env(TOKEN | {key: value}, dotenv=None)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text('# comment\nTELEGRAM_BOT_TOKEN="1:fromfile"\nexport CADRE_LOCALE=en\n', encoding="utf-8")
    s = Settings.from_env({"CADRE_LOCALE": "zh_CN"}, dotenv=dotenv)
    assert s.token == "1:fromfile"
    assert s.locale == "zh_CN"


def run_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_run_without_token_exits_2_with_one_line(tmp_path: Path) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "CADRE_"))}
    result = run_cli("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_unwritable_database_path_is_a_clear_message(tmp_path: Path) -> None:
    import os

    env = dict(os.environ, CADRE_DB=str(tmp_path / "missing-folder" / "x.db"))
    result = run_cli("db", "upgrade", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
