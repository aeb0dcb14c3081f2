"""``cadre-bot admin add`` and ``cadre-bot org import``: bootstrap and roster import from the
command line (subcommands registered by :mod:`bot.cli`).

Messages are in CADRE_LOCALE, from the same catalogs as the bot. Exit codes: 0 done,
1 refused (a roster with errors and no ``--good-rows``, an unknown unit...).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.i18n import Catalogs, Translator
from storage import Database, Repos


def add_parsers(sub: argparse._SubParsersAction) -> None:
    admin = sub.add_parser("admin", help="the people who run the bot")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    add = admin_sub.add_parser("add", help="make a Telegram user an admin of a district (or township)")
    add.add_argument("telegram_id", type=int, help="their numeric Telegram user id (/me in the bot shows it)")
    add.add_argument("--name", required=True, help="their name as colleagues know it")
    add.add_argument("--unit", help="district or township name or path (on an empty database a new name creates a district)")
    add.add_argument("--new-district", action="store_true", help="create a district of that --unit name although others exist")
    add.add_argument("--db")

    org = sub.add_parser("org", help="the organisation: units, people, households")
    org_sub = org.add_subparsers(dest="org_command", required=True)
    imp = org_sub.add_parser("import", help="import a roster file (CSV or XLSX)")
    imp.add_argument("file")
    imp.add_argument("--good-rows", action="store_true", help="import the rows without errors when some have errors")
    imp.add_argument("--db")


def translator(locale: str) -> Translator:
    return Catalogs(locale).get(locale)


async def _open(db_path: Path) -> Repos:
    return Repos.over(await Database.open(db_path))


async def admin_add(db_path: Path, t: Translator, telegram_id: int, name: str, unit: str | None, *,
                    new_district: bool = False) -> tuple[int, str]:
    repos = await _open(db_path)
    try:
        added = await repos.org.add_admin(telegram_id, name, unit, new_district=new_district)
        values: dict[str, object] = {"user_id": telegram_id, "name": name, "unit": unit or "", "units": added.detail,
                                     "districts": t("list.sep").join(added.others)}
        if added.unit is not None:
            values["unit"] = " / ".join(await repos.org.path_names(added.unit.id))
        if added.person is not None:
            values["name"] = added.person.name
            values["role"] = t(f"role.{added.person.role}")
        text = t(f"orgcli.admin.{added.status}", **values)
        return (0 if added.status in ("added", "bound", "already") else 1), text
    finally:
        await repos.db.close()


async def org_import(db_path: Path, t: Translator, file: Path, good_rows: bool) -> tuple[int, str]:
    from bot.rules.roster import RosterFileError, parse_roster
    from bot.services.roster import file_problem, report

    try:
        roster = parse_roster(file.read_bytes(), file.name)
    except RosterFileError as problem:
        return 1, file_problem(t, problem)
    repos = await _open(db_path)
    try:
        result = await repos.roster.import_roster(roster, good_rows=good_rows)
    finally:
        await repos.db.close()
    text = report(t, result, roster.ignored)
    if not result.committed:
        return 1, text + "\n\n" + t("orgcli.import.use_good_rows")
    return 0, text


def cmd_admin(args: argparse.Namespace) -> int:
    from bot.settings import load_settings

    settings = load_settings(require_token=False, db=args.db)
    t = translator(settings.locale)
    code, text = asyncio.run(admin_add(settings.db_path, t, args.telegram_id, args.name, args.unit,
                                       new_district=args.new_district))
    print(text)
    return code


def cmd_org(args: argparse.Namespace) -> int:
    from bot.settings import load_settings

    settings = load_settings(require_token=False, db=args.db)
    t = translator(settings.locale)
    file = Path(args.file)
    if not file.is_file():
        print(t("orgcli.import.missing", path=file))
        return 1
    code, text = asyncio.run(org_import(settings.db_path, t, file, args.good_rows))
    print(text)
    return code
