"""All SQL of the project lives in this package, behind small repository classes."""

from __future__ import annotations

from dataclasses import dataclass

from storage.chats import ChatsRepo
from storage.db import Database, DatabaseError
from storage.org import OrgRepo
from storage.state import StateRepo
from storage.users import UsersRepo


@dataclass
class Repos:
    """Every repository over one database; built once at start."""

    db: Database
    users: UsersRepo
    state: StateRepo
    org: OrgRepo
    chats: ChatsRepo

    @classmethod
    def over(cls, db: Database) -> Repos:
        return cls(
            db=db,
            users=UsersRepo(db),
            state=StateRepo(db),
            org=OrgRepo(db),
            chats=ChatsRepo(db),
        )


__all__ = ["Database", "DatabaseError", "Repos"]
