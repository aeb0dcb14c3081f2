"""A JobQueue whose conversation timeouts cost next to nothing to re-arm.

Every update of a conversation with ``conversation_timeout`` makes PTB's ConversationHandler
cancel its idle-timeout job and schedule a new one (``run_once``): with APScheduler that is a
job added and a job removed, each under the scheduler's lock and with a wake-up of its loop,
on every single update. :class:`CadreJobQueue` keeps those timeouts itself: one asyncio timer
per conversation, armed when the conversation first needs one and re-armed only when it fires
while the deadline has meanwhile moved later (at most once per idle period), so an update only
records the new deadline and the newest job. Every other job goes to APScheduler as before.

The timeout jobs behave as PTB's: ``jobs()`` lists them (named ``_trigger_timeout``),
``next_t`` is their due time, ``schedule_removal()`` cancels them, ``run(application)`` runs
them at once, and they fire only while the job queue runs.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import re
from typing import Any

from telegram.ext import ConversationHandler, Job, JobQueue

_TRIGGER = ConversationHandler._trigger_timeout  # the callback PTB schedules (pinned to 22.x)


class TimeoutJob(Job):
    """A conversation's idle-timeout job, timed by :class:`CadreJobQueue` (no APScheduler job)."""

    __slots__ = ("_due", "_key", "_queue")

    def __init__(self, callback: Any, *, data: Any, name: str | None, chat_id: int | None,
                 user_id: int | None, due: dtm.datetime, key: tuple, queue: CadreJobQueue) -> None:
        super().__init__(callback, data=data, name=name, chat_id=chat_id, user_id=user_id)
        self._due = due
        self._key = key
        self._queue = queue
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
    __slots__ = ("due", "handle", "job")

    def __init__(self, job: TimeoutJob, due: float, handle: asyncio.TimerHandle) -> None:
        self.job = job
        self.due = due
        self.handle = handle


class CadreJobQueue(JobQueue):
    __slots__ = ("_slots",)

    def __init__(self) -> None:
        super().__init__()
        self._slots: dict[tuple, _Slot] = {}

    @staticmethod
    def _is_timeout(callback: Any) -> bool:
        return getattr(callback, "__func__", None) is _TRIGGER and isinstance(
            getattr(callback, "__self__", None), ConversationHandler
        )

    def run_once(self, callback: Any, when: Any, data: object | None = None, name: str | None = None,
                 chat_id: int | None = None, user_id: int | None = None,
                 job_kwargs: dict | None = None) -> Job:
        if not self._is_timeout(callback) or job_kwargs or not isinstance(when, int | float | dtm.timedelta):
            return super().run_once(callback, when, data=data, name=name, chat_id=chat_id,
                                    user_id=user_id, job_kwargs=job_kwargs)
        seconds = when.total_seconds() if isinstance(when, dtm.timedelta) else float(when)
        loop = asyncio.get_running_loop()
        due = loop.time() + seconds
        key = (id(callback.__self__), getattr(data, "conversation_key", None))
        job = TimeoutJob(callback, data=data, name=name, chat_id=chat_id, user_id=user_id,
                         due=dtm.datetime.now(dtm.UTC) + dtm.timedelta(seconds=seconds), key=key, queue=self)
        slot = self._slots.get(key)
        if slot is None:
            self._slots[key] = _Slot(job, due, loop.call_at(due, self._fire, key))
        else:  # no new timer: the armed one fires first and sees the later deadline
            slot.job = job
            slot.due = max(slot.due, due)
        return job

    def _fire(self, key: tuple) -> None:
        slot = self._slots.get(key)
        if slot is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < slot.due - 0.001:
            slot.handle = loop.call_at(slot.due, self._fire, key)
            return
        del self._slots[key]
        job = slot.job
        if job.removed or not self.scheduler.running:
            return
        application = self.application
        application.create_task(job.run(application), name="CadreJobQueue:conversation_timeout")

    def jobs(self, pattern: str | re.Pattern[str] | None = None) -> tuple[Job, ...]:
        mine = tuple(s.job for s in self._slots.values() if not s.job.removed)
        if pattern is not None:
            mine = tuple(j for j in mine if j.name and re.search(pattern, j.name))
        return super().jobs(pattern) + mine

    async def stop(self, wait: bool = True) -> None:
        for slot in self._slots.values():
            slot.handle.cancel()
        self._slots.clear()
        await super().stop(wait)
