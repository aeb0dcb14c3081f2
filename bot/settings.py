"""Settings from environment variables (and a ``.env`` file if present).

A missing required key or a malformed value raises :class:`SettingsError` naming the variable;
the CLI turns that into one line on stderr and exit code 2.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SUPPORTED_LOCALES = ("zh_CN", "en")
# the logs hold no token and no personal data at any level (bot/logfilter.py)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    token: str | None
    db_path: Path
    tz: ZoneInfo
    locale: str
    base_url: str | None = None
    base_file_url: str | None = None
    admin_chat: int | None = None
    webhook_url: str | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = 8443
    webhook_secret: str | None = None
    report_max_age_days: int = 60
    bulletin_day: int = 1
    invite_days: int = 7
    bulletin_time: time = time(9, 0)
    log_level: str = "INFO"

    @property
    def tz_name(self) -> str:
        return self.tz.key

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        require_token: bool = True,
        dotenv: Path | None = Path(".env"),
    ) -> Settings:
        values: dict[str, str] = {}
        if dotenv is not None and dotenv.is_file():
            values.update(read_dotenv(dotenv))
        values.update(os.environ if env is None else env)

        def get(key: str) -> str | None:
            value = values.get(key, "").strip()
            return value or None

        token = get("TELEGRAM_BOT_TOKEN")
        if require_token and not token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: put the bot token from @BotFather in it")
        if token and ":" not in token:
            raise SettingsError("TELEGRAM_BOT_TOKEN looks malformed: expected 123456:ABC...")

        tz_name = get("CADRE_TZ") or "Asia/Shanghai"
        try:
            tz = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(f"CADRE_TZ={tz_name!r} is not a known time zone") from exc

        locale = get("CADRE_LOCALE") or "zh_CN"
        if locale not in SUPPORTED_LOCALES:
            raise SettingsError(
                f"CADRE_LOCALE={locale!r} is not supported: use one of {', '.join(SUPPORTED_LOCALES)}"
            )

        admin_chat = get("CADRE_ADMIN_CHAT")
        if admin_chat is not None and not admin_chat.lstrip("-").isdigit():
            raise SettingsError(f"CADRE_ADMIN_CHAT={admin_chat!r} must be a numeric chat id")

        listen = get("CADRE_LISTEN") or "127.0.0.1:8443"
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise SettingsError(f"CADRE_LISTEN={listen!r} must look like 127.0.0.1:8443")

        webhook_url = get("TELEGRAM_WEBHOOK_URL")
        if webhook_url and not webhook_url.startswith("https://"):
            raise SettingsError("TELEGRAM_WEBHOOK_URL must start with https://")

        max_age = get("CADRE_REPORT_MAX_AGE_DAYS") or "60"
        if not max_age.isdigit() or int(max_age) < 1:
            raise SettingsError("CADRE_REPORT_MAX_AGE_DAYS must be a positive whole number")

        invite_days = get("CADRE_INVITE_DAYS") or "7"
        if not invite_days.isdigit() or not 1 <= int(invite_days) <= 90:
            raise SettingsError("CADRE_INVITE_DAYS must be a whole number of days from 1 to 90")

        bulletin_at = get("CADRE_BULLETIN_AT") or "1 09:00"
        match = re.fullmatch(r"(\d{1,2})\s+(\d{1,2}):(\d{2})", bulletin_at)
        if not match or not 1 <= int(match[1]) <= 28 or int(match[2]) > 23 or int(match[3]) > 59:
            raise SettingsError(
                f"CADRE_BULLETIN_AT={bulletin_at!r} must be 'DAY HH:MM' with DAY 1-28, e.g. '1 09:00'"
            )

        log_level = (get("CADRE_LOG_LEVEL") or "INFO").upper()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"CADRE_LOG_LEVEL={log_level!r} must be one of {', '.join(LOG_LEVELS)}")

        return cls(
            token=token,
            db_path=Path(get("CADRE_DB") or "cadre.db"),
            tz=tz,
            locale=locale,
            base_url=get("TELEGRAM_BASE_URL"),
            base_file_url=get("TELEGRAM_BASE_FILE_URL"),
            admin_chat=int(admin_chat) if admin_chat else None,
            webhook_url=webhook_url,
            listen_host=host,
            listen_port=int(port),
            webhook_secret=get("TELEGRAM_WEBHOOK_SECRET"),
            report_max_age_days=int(max_age),
            invite_days=int(invite_days),
            bulletin_day=int(match[1]),
            bulletin_time=time(int(match[2]), int(match[3])),
            log_level=log_level,
        )


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped; optional quotes stripped."""
    out: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def load_settings(*, require_token: bool, db: str | None = None) -> Settings:
    """The settings from the environment, with the database of ``--db`` when it is given."""
    settings = Settings.from_env(require_token=require_token)
    if db:
        from dataclasses import replace

        settings = replace(settings, db_path=Path(db))
    return settings
