"""Sliding-window limits (logins, code mails) that every worker shares through the database."""
import math
import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from exts import db
from models import RateLimitSlotModel, utcnow

SLOTS = RateLimitSlotModel.__table__
# No window is longer: rows older than this count for nothing and are deleted.
LONGEST_WINDOW_SECONDS = 24 * 3600
# MySQL's "deadlock found" and "lock wait timeout": the statement lost a race, nothing was
# written, and another look at the slots settles it.
LOST_RACE_CODES = {1213, 1205}


@dataclass(frozen=True)
class Limit:
    """At most *count* uses per *seconds* (a sliding window) for each identity; *name* keeps
    the buckets of different limits apart."""

    name: str
    count: int
    seconds: int

    def __post_init__(self):
        if not (self.count >= 1 and 1 <= self.seconds <= LONGEST_WINDOW_SECONDS):
            raise ValueError(f"limit {self.name}: {self.count} per {self.seconds} s is not a limit")

    def bucket(self, identity):
        return f"{self.name}:{identity}"


class Limited(Exception):
    """Every slot is in use: *retry_after* seconds (1 or more) until the oldest one frees."""

    def __init__(self, limit, retry_after):
        super().__init__(f"{limit.name}: try again in {retry_after} s")
        self.limit = limit
        self.retry_after = retry_after


@dataclass(frozen=True)
class Use:
    """A slot taken; *left* is how many uses the window had left after it."""

    bucket: str
    slot: int
    taken_at: object
    left: int

    def release(self):
        """Give the slot back, for a use that did not happen (a mail that was not sent)."""
        # Only if it is still ours: after its window another request may hold it.
        _commit(delete(SLOTS).where(SLOTS.c.bucket == self.bucket, SLOTS.c.slot == self.slot,
                                    SLOTS.c.taken_at == self.taken_at))


def _commit(statement):
    """Run *statement* in a transaction of its own: no lock is held past it (not across a
    password check or an SMTP exchange). The request's session is used, so that no second
    connection ever waits on a lock the request itself holds (SQLite has one writer)."""
    try:
        result = db.session.execute(statement)
        db.session.commit()
        return result
    except BaseException:
        db.session.rollback()
        raise


def take(limit, identity):
    """Take one of *identity*'s *limit.count* slots, or raise Limited. Commits the session:
    call it before changing anything else.

    A slot is a row keyed (bucket, slot): a free slot is taken by an INSERT, which the primary
    key lets only one request win; a slot whose use has left the window is taken by an UPDATE
    that matches only the time that was read, which likewise only one request wins. So at
    most *count* uses fall in any window, whatever the number of workers and threads.
    """
    bucket = limit.bucket(identity)
    window = timedelta(seconds=limit.seconds)
    # Each lost race means another request took a slot: after *count* of them the slots are
    # all taken, and the next look says so.
    for _ in range(limit.count + 2):
        # A look in a transaction of its own: on MySQL an older snapshot would show slots as
        # they were.
        db.session.commit()
        # Whole seconds, as a MySQL DATETIME keeps them: the time written is the time read.
        now = utcnow().replace(microsecond=0)
        held = dict(db.session.execute(select(SLOTS.c.slot, SLOTS.c.taken_at)
                                       .where(SLOTS.c.bucket == bucket)).all())
        held = {slot: at for slot, at in held.items() if slot < limit.count}
        live = sorted(at for at in held.values() if at > now - window)
        free = [slot for slot in range(limit.count) if slot not in held]
        stale = [slot for slot, at in held.items() if at <= now - window]
        if not free and not stale:
            db.session.commit()
            raise Limited(limit, _seconds_until(live[0] + window, now))
        # A random pick: parallel requests rarely aim at the same slot.
        slot = random.choice(free or stale)
        if _claim(bucket, slot, held.get(slot), now):
            return Use(bucket, slot, now, left=limit.count - len(live) - 1)
    raise Limited(limit, 1)


def _claim(bucket, slot, was, now):
    try:
        if was is None:
            _commit(insert(SLOTS).values(bucket=bucket, slot=slot, taken_at=now))
            _prune(now)
            return True
        claimed = _commit(update(SLOTS).where(
            SLOTS.c.bucket == bucket, SLOTS.c.slot == slot, SLOTS.c.taken_at == was)
            .values(taken_at=now))
        return claimed.rowcount == 1
    except IntegrityError:
        return False  # another request inserted this slot first
    except OperationalError as exc:
        if exc.orig.args and exc.orig.args[0] in LOST_RACE_CODES:
            return False
        raise


def _prune(now):
    """Delete what no window still needs; the table only grows where this is called."""
    try:
        _commit(delete(SLOTS).where(
            SLOTS.c.taken_at < now - timedelta(seconds=LONGEST_WINDOW_SECONDS)))
    except OperationalError as exc:
        if not (exc.orig.args and exc.orig.args[0] in LOST_RACE_CODES):
            raise
        # Another request's prune or insert was in the way: the next prune deletes these.


def forget(limit, identity):
    """Free every slot of *identity* (a successful login ends the count of failures)."""
    _commit(delete(SLOTS).where(SLOTS.c.bucket == limit.bucket(identity)))


def _seconds_until(moment, now):
    return max(1, math.ceil((moment - now).total_seconds()))
