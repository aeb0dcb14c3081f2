"""A JobQueue whose idle timeouts cost next to nothing to re-arm.

A form's idle timeout moves on with every step it takes. As an APScheduler job that would be a
job added and a job removed, each under the scheduler's lock and with a wake-up of its loop, on
every single update. :meth:`CadreJobQueue.run_idle` keeps those timeouts itself: one asyncio
timer per key (a user's forms), armed when the key first needs one and re-armed only when it
fires while the deadline has meanwhile moved later (at most once per idle period), so a step
only records the new deadline and the newest job. Every other job goes to APScheduler as before.

The timeout jobs behave as PTB's jobs: ``jobs()`` lists them (named after their callback),
``next_t`` is their due time, ``schedule_removal()`` cancels them, ``run(application)`` runs
them at once, and they fire only while the job queue runs.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
from typing import Any

from telegram.ext import Job, JobQueue


class TimeoutJob(Job):
    """An idle-timeout job, timed by :class:`CadreJobQueue` (no APScheduler job)."""

    __slots__ = ("_due",)

    def __init__(self, callback: Any, *, data: Any, name: str | None, chat_id: int | None,
                 user_id: int | None, due: dtm.datetime) -> None:
        super().__init__(callback, data=data, name=name, chat_id=chat_id, user_id=user_id)
        self._due = due
        self._enabled = True

    @property
    def next_t(self) -> dtm.datetime | None:
        return None if self._removed else self._due

    @property
    def enabled(self) -> bool:
        return not self._removed

    def schedule_removal(self) -> None:
        # the timer stays: PTB re-arms right after cancelling; a slot whose job stays removed
        # is dropped when its timer fires
        self._removed = True


class _Slot:
    """One key's timer: the deadline it waits for, and the newest job asked for (its
    arguments; the :class:`TimeoutJob` itself is made only when it is listed or due)."""

    __slots__ = ("args", "due", "handle", "job")

    def __init__(self, due: float, handle: asyncio.TimerHandle) -> None:
        self.due = due
        self.handle = handle
        self.args: tuple | None = None  # (callback, data, name, chat_id, user_id, due) or None: cancelled
        self.job: TimeoutJob | None = None  # made from args, once asked for


class CadreJobQueue(JobQueue):
    __slots__ = ("_slots",)

    def __init__(self) -> None:
        super().__init__()
        self._slots: dict[tuple, _Slot] = {}

    def run_idle(self, callback: Any, when: dtm.timedelta | float, *, key: tuple, data: object | None = None,
                 name: str | None = None, chat_id: int | None = None, user_id: int | None = None) -> None:
        """Run ``callback`` once ``when`` from now unless this is called again for ``key``
        first (which moves the deadline on and makes the new job the one that runs) or
        :meth:`cancel_idle` is. Cheap enough for every step of a form: no APScheduler job, no
        new timer while one is armed, and the job object is made only if it is listed or due."""
        seconds = when.total_seconds() if isinstance(when, dtm.timedelta) else float(when)
        loop = asyncio.get_running_loop()
        due = loop.time() + seconds
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot(due, loop.call_at(due, self._fire, key))
        else:  # no new timer: the armed one fires first and sees the later deadline
            if slot.job is not None:
                slot.job.schedule_removal()
                slot.job = None
            slot.due = max(slot.due, due)
        slot.args = (callback, data, name, chat_id, user_id, due)

    def cancel_idle(self, key: tuple) -> None:
        """The timeout of ``key`` is not wanted any more (its timer, if armed, fires for nothing)."""
        slot = self._slots.get(key)
        if slot is not None:
            if slot.job is not None:
                slot.job.schedule_removal()
                slot.job = None
            slot.args = None

    def _job_of(self, slot: _Slot) -> TimeoutJob | None:
        if slot.job is None and slot.args is not None:
            callback, data, name, chat_id, user_id, due = slot.args
            try:
                left = due - asyncio.get_running_loop().time()
            except RuntimeError:  # listed with no loop running: it can only be due
                left = 0.0
            wall = dtm.datetime.now(dtm.UTC) + dtm.timedelta(seconds=left)
            slot.job = TimeoutJob(callback, data=data, name=name, chat_id=chat_id, user_id=user_id, due=wall)
        return slot.job

    def _fire(self, key: tuple) -> None:
        slot = self._slots.get(key)
        if slot is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < slot.due - 0.001:
            slot.handle = loop.call_at(slot.due, self._fire, key)
            return
        del self._slots[key]
        job = self._job_of(slot)
        if job is None or job.removed or not self.scheduler.running:
            return
        application = self.application
        application.create_task(job.run(application), name="CadreJobQueue:idle_timeout")

    def jobs(self, pattern: str | re.Pattern[str] | None = None) -> tuple[Job, ...]:
        made = (self._job_of(slot) for slot in self._slots.values())
        mine = tuple(job for job in made if job is not None and not job.removed)
        if pattern is not None:
            mine = tuple(j for j in mine if j.name and re.search(pattern, j.name))
        return super().jobs(pattern) + mine

    async def stop(self, wait: bool = True) -> None:
        for slot in self._slots.values():
            slot.handle.cancel()
        self._slots.clear()
        await super().stop(wait)
