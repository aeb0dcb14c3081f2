"""Invite codes: made by admins and secretaries, redeemed by ``/start <code>``.

A code binds the Telegram account that opens it to a person with a role in a unit: a person
chosen from the roster, a person the joiner names (an invite made before the roster had them),
or, for a multi-use code of one village's party members, the roster name the joiner picks.
Every check and the binding itself happen in one transaction (:meth:`InvitesRepo.redeem`), so
two people opening a single-use code at once cannot both join.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from storage.db import Database, Row, record
from storage.org import _PERSON_COLS, Person, _person
from storage.timefmt import from_db, to_db

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: codes are read aloud
CODE_LENGTH = 8
DEFAULT_DAYS = 7


def new_code() -> str:
    """Random letters and digits, at least one of each (a typed code is told from a word)."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if any(ch.isdigit() for ch in code) and any(ch.isalpha() for ch in code):
            return code


def normalise_code(text: str) -> str:
    """What a person typed (spaces, dashes, lower case) as a code."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


@dataclass(frozen=True)
class Invite:
    code: str
    unit_id: int
    role: str
    first_secretary: bool
    person_id: int | None
    multi_use: bool
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    uses: int
    used_by: int | None

    def status(self, now: datetime) -> str:
        """open, revoked, expired or used."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if not self.multi_use and self.uses > 0:
            return "used"
        return "open"


@dataclass(frozen=True)
class Redeemed:
    """The outcome of :meth:`InvitesRepo.redeem`.

    ``status``: joined, already (this account is that person already), not_found, revoked,
    expired, used, bound_elsewhere (the person has another Telegram account), has_other (this
    account is another person: ask before switching), needs_name, needs_pick, bad_pick.
    """

    status: str
    invite: Invite | None = None
    person: Person | None = None
    previous: Person | None = None


_COLS = (
    "code, unit_id, role, first_secretary, person_id, multi_use, created_by, created_at,"
    " expires_at, revoked_at, uses, used_by"
)


def _invite(row: Row) -> Invite:
    return record(
        Invite, row, first_secretary=bool(row["first_secretary"]), multi_use=bool(row["multi_use"]),
        created_at=from_db(row["created_at"]), expires_at=from_db(row["expires_at"]),
        revoked_at=from_db(row["revoked_at"]),
    )


class InvitesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        unit_id: int,
        role: str,
        *,
        created_by: int | None,
        now: datetime,
        person_id: int | None = None,
        multi_use: bool = False,
        first_secretary: bool = False,
        days: int = DEFAULT_DAYS,
        replace_open: bool = False,
    ) -> Invite:
        """A new code; ``replace_open`` revokes the person's earlier open codes (a resend)."""
        async with self.db.transaction() as conn:
            if replace_open and person_id is not None:
                await conn.execute(
                    "UPDATE invites SET revoked_at = ? WHERE person_id = ? AND revoked_at IS NULL"
                    " AND uses = 0",
                    (to_db(now), person_id),
                )
            while True:
                code = new_code()
                async with conn.execute("SELECT 1 FROM invites WHERE code = ?", (code,)) as cur:
                    if await cur.fetchone() is None:
                        break
            await conn.execute(
                f"INSERT INTO invites ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, NULL)",
                (
                    code, unit_id, role, int(first_secretary), person_id, int(multi_use), created_by,
                    to_db(now), to_db(now + timedelta(days=days)),
                ),
            )
        invite = await self.get(code)
        if invite is None:
            raise RuntimeError("unexpected: invite is None")
        return invite

    async def get(self, code: str) -> Invite | None:
        row = await self.db.fetchone(f"SELECT {_COLS} FROM invites WHERE code = ?", (code,))
        return _invite(row) if row else None

    async def open_for_person(self, person_id: int, now: datetime) -> Invite | None:
        row = await self.db.fetchone(
            f"SELECT {_COLS} FROM invites WHERE person_id = ? AND revoked_at IS NULL AND uses = 0"
            " AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
            (person_id, to_db(now)),
        )
        return _invite(row) if row else None

    async def open_multi(self, unit_id: int, now: datetime) -> Invite | None:
        row = await self.db.fetchone(
            f"SELECT {_COLS} FROM invites WHERE unit_id = ? AND multi_use = 1 AND revoked_at IS NULL"
            " AND expires_at > ? ORDER BY created_at DESC LIMIT 1",
            (unit_id, to_db(now)),
        )
        return _invite(row) if row else None

    async def open_in(self, unit_ids: Iterable[int], now: datetime) -> list[Invite]:
        """Codes that still work, for these units, the newest first."""
        ids = list(unit_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = await self.db.fetchall(
            f"SELECT {_COLS} FROM invites WHERE unit_id IN ({marks}) AND revoked_at IS NULL"
            " AND expires_at > ? AND (multi_use = 1 OR uses = 0) ORDER BY created_at DESC, code",
            [*ids, to_db(now)],
        )
        return [_invite(r) for r in rows]

    async def revoke(self, code: str, now: datetime) -> bool:
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "UPDATE invites SET revoked_at = ? WHERE code = ? AND revoked_at IS NULL",
                (to_db(now), code),
            )
            return cur.rowcount > 0

    async def redeem(
        self,
        code: str,
        telegram_id: int,
        now: datetime,
        *,
        person_id: int | None = None,
        name: str | None = None,
        switch: bool = False,
    ) -> Redeemed:
        """Check the code and bind ``telegram_id`` to its person, all in one transaction.

        ``person_id`` is the roster name picked for a multi-use code; ``name`` is what the
        joiner typed for a code made without a person; ``switch`` confirms that an account
        that already is somebody else gives that up.
        """
        async with self.db.transaction() as conn:
            row = await _one(conn, f"SELECT {_COLS} FROM invites WHERE code = ?", (code,))
            if row is None:
                return Redeemed("not_found")
            invite = _invite(row)
            status = invite.status(now)
            if status == "used" and invite.used_by == telegram_id:  # their own link, again
                person = _person_or_none(
                    await _one(conn, f"SELECT {_PERSON_COLS} FROM people WHERE telegram_id = ?", (telegram_id,))
                )
                if person is not None and (person.unit_id, person.role) == (invite.unit_id, invite.role):
                    return Redeemed("already", invite, person)
            if status != "open":
                return Redeemed(status, invite)
            target = await self._target(conn, invite, person_id, name)
            if isinstance(target, str):
                return Redeemed(target, invite)
            if target is not None and target.telegram_id == telegram_id:
                return Redeemed("already", invite, target)
            if target is not None and target.telegram_id is not None:
                return Redeemed("bound_elsewhere", invite, target)
            if target is not None and not target.active:
                return Redeemed("bad_pick", invite, target)
            current = _person_or_none(
                await _one(conn, f"SELECT {_PERSON_COLS} FROM people WHERE telegram_id = ?", (telegram_id,))
            )
            if current is not None and not switch:
                return Redeemed("has_other", invite, target, current)
            if current is not None:
                await conn.execute(
                    "UPDATE people SET telegram_id = NULL, joined_at = NULL WHERE id = ?", (current.id,)
                )
            if target is None:
                cur = await conn.execute(
                    "INSERT INTO people (name, role, unit_id, first_secretary) VALUES (?, ?, ?, ?)",
                    (name, invite.role, invite.unit_id, int(invite.first_secretary)),
                )
                target_id = cur.lastrowid
            else:
                target_id = target.id
            await conn.execute(
                "UPDATE people SET telegram_id = ?, joined_at = ?, active = 1,"
                " first_secretary = MAX(first_secretary, ?) WHERE id = ?",
                (telegram_id, to_db(now), int(invite.first_secretary), target_id),
            )
            await conn.execute(
                "UPDATE invites SET uses = uses + 1, used_by = ?, used_at = ? WHERE code = ?",
                (telegram_id, to_db(now), code),
            )
            joined = await _person_of(conn, target_id)
            return Redeemed("joined", invite, joined, current)

    async def _target(
        self, conn: aiosqlite.Connection, invite: Invite, person_id: int | None, name: str | None
    ) -> Person | str | None:
        """The person the code binds to; None to create one named ``name``; or a status."""
        if invite.person_id is not None:
            person = await _person_of(conn, invite.person_id)
            return person if person is not None else "not_found"
        if invite.multi_use:
            if person_id is None:
                return "needs_pick"
            person = await _person_of(conn, person_id)
            if person is None or person.unit_id != invite.unit_id or person.role != invite.role:
                return "bad_pick"
            return person
        if not name:
            return "needs_name"
        return _person_or_none(
            await _one(
                conn,
                f"SELECT {_PERSON_COLS} FROM people WHERE unit_id = ? AND name = ? AND role = ?",
                (invite.unit_id, name, invite.role),
            )
        )


async def _one(conn: aiosqlite.Connection, sql: str, params: tuple) -> aiosqlite.Row | None:
    async with conn.execute(sql, params) as cur:
        return await cur.fetchone()


async def _person_of(conn: aiosqlite.Connection, person_id: int | None) -> Person | None:
    return _person_or_none(
        await _one(conn, f"SELECT {_PERSON_COLS} FROM people WHERE id = ?", (person_id,))
    )


def _person_or_none(row) -> Person | None:
    return _person(row) if row else None
