"""Who a task or a notice reaches, and why a unit cannot be reached. Pure: no I/O, no clock.

The facts of each unit come from one set-based query (:meth:`storage.chats.ChatsRepo.reach_facts`):
its leaders who joined (their private chats), its bound groups the bot is in, and the bound
groups the bot was removed from. :func:`unit_reach` says where a push to the unit goes for an
audience, and if nowhere, why:

* ``nobody_joined``: people only (a rectification task), and no leader of the unit joined;
* ``nobody_no_group``: people and groups, and neither a joined leader nor a bound group;
* ``no_group``: groups only (a notice), and no group bound;
* ``bot_removed``: a group was bound, but the bot is no longer in it (and nothing else reaches).

A push goes to each place once: a leader who bound one of the unit's groups gets it there, not
privately as well. :func:`delivered` reads the push log's answer: which units a push reached.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

NOBODY_JOINED, NOBODY_NO_GROUP, NO_GROUP, BOT_REMOVED = "nobody_joined", "nobody_no_group", "no_group", "bot_removed"
REASONS = (NOBODY_JOINED, NOBODY_NO_GROUP, NO_GROUP, BOT_REMOVED)
AUDIENCES = ("people", "groups")  # a task's: its responsible people only, or their groups too
# A "新任务" goes to a group only this long after the task was published (or extended): a group
# bound weeks later gets the next reminder, not an old announcement.
ANNOUNCE_TO_GROUPS_HOURS = 72
# "请抓紧落实" only this close to the deadline; earlier a reminder pressed by hand is plain.
URGENT_DAYS = 7


@dataclass(frozen=True)
class UnitFacts:
    unit_id: int
    leaders: tuple[int, ...] = ()  # Telegram ids of the unit's joined leaders
    groups: tuple[int, ...] = ()  # bound groups the bot is in (receiving the kind)
    binders: tuple[int, ...] = ()  # Telegram ids of the leaders who bound one of those groups
    removed: tuple[int, ...] = ()  # bound groups the bot was removed from


@dataclass(frozen=True)
class UnitReach:
    unit_id: int
    name: str
    chats: tuple[int, ...] = ()  # where its pushes go (groups first, then private chats)
    groups: tuple[int, ...] = ()
    why: str | None = None  # why it cannot be reached (one of REASONS), None if it can

    @property
    def reachable(self) -> bool:
        return bool(self.chats)


def unit_reach(unit_id: int, name: str, facts: UnitFacts | None, *, people: bool = True, groups: bool = True) -> UnitReach:
    """Where a push to the unit goes for the audience (``people``: its leaders privately;
    ``groups``: its bound groups), each place once; if nowhere, why."""
    facts = facts or UnitFacts(unit_id)
    to_groups = facts.groups if groups else ()
    binders = set(facts.binders) if to_groups else set()
    private = tuple(p for p in facts.leaders if p not in binders) if people else ()
    chats = tuple(dict.fromkeys((*to_groups, *private)))
    why = None
    if not chats:
        if groups and facts.removed:
            why = BOT_REMOVED
        elif not groups:
            why = NOBODY_JOINED
        elif not people:
            why = NO_GROUP
        else:
            why = NOBODY_NO_GROUP
    return UnitReach(unit_id, name, chats, to_groups, why)


@dataclass(frozen=True)
class Reach:
    """Every unit of a task or notice: those it reaches and those it cannot, with why."""

    units: tuple[UnitReach, ...] = field(default_factory=tuple)

    @property
    def reachable(self) -> list[UnitReach]:
        return [u for u in self.units if u.reachable]

    @property
    def missed(self) -> list[UnitReach]:
        return [u for u in self.units if not u.reachable]

    def of(self, unit_id: int) -> UnitReach | None:
        return next((u for u in self.units if u.unit_id == unit_id), None)


def reach(units: Iterable[tuple[int, str]], facts: Mapping[int, UnitFacts], *, people: bool = True, groups: bool = True) -> Reach:
    """The reach of a push to ``units`` ((id, name) pairs) over their facts."""
    return Reach(tuple(unit_reach(uid, name, facts.get(uid), people=people, groups=groups) for uid, name in units))


def delivered(result: Reach, sent: Iterable[int]) -> tuple[list[UnitReach], list[UnitReach]]:
    """(reached, not yet): by the push log's sent chats, which reachable units a push reached.
    A unit reached by any of its chats counts as reached."""
    sent_chats = set(sent)
    done, waiting = [], []
    for unit in result.reachable:
        (done if sent_chats & set(unit.chats) else waiting).append(unit)
    return done, waiting


def announce_to_groups(hours_since_published: float) -> bool:
    """Whether a group still gets a task's announcement (a group bound later does not)."""
    return hours_since_published < ANNOUNCE_TO_GROUPS_HOURS


def urgent(days_left: int) -> bool:
    """Whether a reminder pressed by hand says 请抓紧落实 (only close to the deadline)."""
    return days_left <= URGENT_DAYS


# Parsing vocabulary (not user-facing text): the words of a rectification task's title.
SENSITIVE_WORDS = ("软弱涣散", "整顿")


def sensitive(title: str, kind: str = "") -> bool:
    """A rectification-type task: its designation must not reach a village's members' group."""
    text = f"{title} {kind}"
    return any(word in text for word in SENSITIVE_WORDS)


def default_audience(title: str, kind: str = "") -> str:
    return "people" if sensitive(title, kind) else "groups"


def sorted_missed(result: Reach) -> Sequence[UnitReach]:
    return sorted(result.missed, key=lambda u: (u.why or "", u.name))
