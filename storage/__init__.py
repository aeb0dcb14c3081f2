"""All SQL of the project lives in this package, behind small repository classes."""

from __future__ import annotations

from dataclasses import dataclass

from storage.chats import ChatsRepo
from storage.db import Database, DatabaseError
from storage.events import EventsRepo
from storage.invites import InvitesRepo
from storage.org import OrgRepo
from storage.oversight import OversightRepo
from storage.pushes import PushesRepo
from storage.reports import ReportsRepo
from storage.roster import RosterRepo
from storage.state import StateRepo
from storage.tasks import TasksRepo
from storage.users import UsersRepo
from storage.visits import HouseholdsRepo, VisitsRepo


@dataclass
class Repos:
    """Every repository over one database; built once at start."""

    db: Database
    users: UsersRepo
    state: StateRepo
    org: OrgRepo
    chats: ChatsRepo
    invites: InvitesRepo
    roster: RosterRepo
    households: HouseholdsRepo
    visits: VisitsRepo
    reports: ReportsRepo
    tasks: TasksRepo
    events: EventsRepo
    pushes: PushesRepo
    oversight: OversightRepo

    @classmethod
    def over(cls, db: Database) -> Repos:
        return cls(
            db=db,
            users=UsersRepo(db),
            state=StateRepo(db),
            org=OrgRepo(db),
            chats=ChatsRepo(db),
            invites=InvitesRepo(db),
            roster=RosterRepo(db),
            households=HouseholdsRepo(db),
            visits=VisitsRepo(db),
            reports=ReportsRepo(db),
            tasks=TasksRepo(db),
            events=EventsRepo(db),
            pushes=PushesRepo(db),
            oversight=OversightRepo(db),
        )


__all__ = ["Database", "DatabaseError", "Repos"]
