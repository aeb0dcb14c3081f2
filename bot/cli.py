"""``cadre-bot``: run the bot, talk to it offline, manage the database.

Settings problems end with one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.logfilter import install_log_redaction
from bot.orgcli import add_parsers as add_org_parsers
from bot.orgcli import cmd_admin, cmd_org
from bot.services.ledger import add_cli_parser as add_export_parser
from bot.services.ledger import cmd_export
from bot.settings import SettingsError, load_settings
from storage import Database, DatabaseError
from storage.db import DatabaseDamaged, check_file, integrity_check


def configure_logging(level: int = logging.INFO, token: str | None = None) -> None:
    install_log_redaction(token)  # no token, no phone number, no message text in any log line
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cadre-bot", description="Telegram bot for grassroots party cadres")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="run the bot (long polling, or a webhook when TELEGRAM_WEBHOOK_URL is set)")

    c = sub.add_parser("console", help="talk to the bot offline in this terminal (no token needed)")
    c.add_argument("--db", help="SQLite file (default: CADRE_DB or ./cadre.db)")
    c.add_argument("--user", type=int, default=10001, help="your Telegram user id in the console")
    c.add_argument("--name", help="your first name in the console (default: a sample name)")
    c.add_argument("--chat", type=int, help="start in this chat (a negative id is a group)")
    c.add_argument("--demo", action="store_true",
                   help="a sample district: in a fresh temporary database, or in --db PATH (made there once, kept)")

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply pending migrations")
    up.add_argument("--db")
    bk = dbsub.add_parser("backup", help="copy the database safely while the bot runs")
    bk.add_argument("path")
    bk.add_argument("--db")
    ck = dbsub.add_parser("check", help="run SQLite's integrity check on the database file")
    ck.add_argument("--db")
    add_export_parser(sub)
    add_org_parsers(sub)
    return p


def cmd_run(args: argparse.Namespace) -> int:
    from telegram import Update

    from bot.app import build_application

    settings = load_settings(require_token=True)
    check_file(settings.db_path)  # a damaged file: one line and exit 2 before anything starts
    configure_logging(getattr(logging, settings.log_level), settings.token)
    app = build_application(settings)
    if settings.webhook_url:
        app.run_webhook(
            listen=settings.listen_host,
            port=settings.listen_port,
            webhook_url=settings.webhook_url,
            # Telegram sends it back in a header on every request; PTB refuses requests without it
            secret_token=settings.webhook_secret or secrets.token_urlsafe(32),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from bot.console import run_console

    settings = load_settings(require_token=False, db=args.db)
    if args.demo and not args.db:
        from dataclasses import replace

        settings = replace(settings, db_path=Path(tempfile.mkdtemp(prefix="cadre-demo-")) / "demo.db")
    configure_logging(logging.WARNING)
    return asyncio.run(
        run_console(settings, user_id=args.user, name=args.name, chat_id=args.chat, demo=args.demo)
    )


async def _db_upgrade(path: Path) -> list[int]:
    db = await Database.open(path, upgrade=False)
    try:
        return await db.upgrade()
    finally:
        await db.close()


async def _db_backup(path: Path, target: Path) -> None:
    db = await Database.open(path, upgrade=False)
    try:
        await db.backup(target)
    finally:
        await db.close()


def cmd_db(args: argparse.Namespace) -> int:
    settings = load_settings(require_token=False, db=args.db)
    if args.db_command == "check":
        problems = integrity_check(settings.db_path)
        if problems == ["ok"]:
            print(f"{settings.db_path}: ok")
            return 0
        for line in problems[:20]:
            print(f"{settings.db_path}: {line}")
        print(f"{settings.db_path} is damaged: restore it from a copy made with `cadre-bot db backup`")
        return 2
    if args.db_command == "upgrade":
        applied = asyncio.run(_db_upgrade(settings.db_path))
        print(f"{settings.db_path}: applied migrations {applied}" if applied else f"{settings.db_path}: up to date")
    else:
        asyncio.run(_db_backup(settings.db_path, Path(args.path)))
        print(f"backed up {settings.db_path} to {args.path}")
    return 0


COMMANDS = {"run": cmd_run, "console": cmd_console, "db": cmd_db, "export": cmd_export, "admin": cmd_admin, "org": cmd_org}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except SettingsError as exc:
        print(f"cadre-bot: {exc}", file=sys.stderr)
        return 2
    except DatabaseDamaged as exc:  # the file was not written to
        print(f"cadre-bot: {exc}", file=sys.stderr)
        return 2
    except DatabaseError as exc:
        print(f"cadre-bot: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
