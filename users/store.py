"""Back-office accounts: who a signed-in person is, what their role lets them do, which brands
they see; password rules and hashing (argon2), and the slowing of repeated failed sign-ins per
(name, address).

No Streamlit here: :mod:`dashboard.gate` checks passwords at the sign-in form,
:mod:`dashboard.auth` puts the signed-in user in front of the pages, and ``callbacks user
add|list|remove|passwd`` (:mod:`callbacks.users`) manages the accounts; the SQL is
``sql/accounts.sql``. Everything runs as the database owner: the dashboard reads one account at
a time through ``back_office_account()`` (migration 007) with the owner's connection; no
back-office role may call it (migration 022).
"""
from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

import sql
from delivery import audit
from delivery import brands as delivery_brands
from delivery.errors import CallbackDeskError, InvalidInput

ANALYST, INTEGRATION_MANAGER, ADMIN = "analyst", "integration_manager", "admin"
#: Every role, least first.
ROLES = (ANALYST, INTEGRATION_MANAGER, ADMIN)

RUN_BATTERY, ACT = "run_battery", "act"
#: What each role may do besides reading its brands: ``run_battery`` runs the Integration Test
#: against a brand's registered URLs; ``act`` is the integration manager's actions on the queue
#: (retry, recover, cancel).
PERMISSIONS: dict[str, frozenset[str]] = {
    ANALYST: frozenset(),
    INTEGRATION_MANAGER: frozenset({RUN_BATTERY, ACT}),
    ADMIN: frozenset({RUN_BATTERY, ACT}),
}
ACTIONS = frozenset().union(*PERMISSIONS.values())

#: Shortest password ``callbacks user add`` and ``passwd`` accept.
MIN_PASSWORD_LENGTH = 10

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that a wrong name costs as long as a wrong
    password and answer times do not tell which names exist. Computed on first use (a hash
    takes tens of milliseconds, which importing this module should not cost), then kept."""
    return _HASHER.hash("not a password of anyone")


class UnknownUser(CallbackDeskError):
    """No back-office user has this name; ``callbacks user list`` shows them."""


@dataclass(frozen=True)
class User:
    """A signed-in person. ``brands`` (names) and ``brand_ids`` are None for a user of every
    brand; ``via`` is ``password`` (built-in account) or ``oidc``."""

    name: str
    role: str
    brands: frozenset[str] | None
    brand_ids: frozenset[int] | None = None
    email: str | None = None
    via: str = "password"

    @property
    def all_brands(self) -> bool:
        return self.brands is None

    def sees(self, brand: str) -> bool:
        """Whether this user may see the brand called ``brand``."""
        return self.brands is None or brand in self.brands

    @property
    def role_label(self) -> str:
        return self.role.replace("_", " ")

    def brands_label(self) -> str:
        return "all brands" if self.brands is None else ", ".join(sorted(self.brands)) or "none"


def can(user: User | None, action: str) -> bool:
    """Whether ``user`` may ``action`` (``"run_battery"`` or ``"act"``); False when no one is
    signed in. An unknown action is a programming error, not a refusal."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; one of {sorted(ACTIONS)}")
    return user is not None and action in PERMISSIONS.get(user.role, frozenset())


# --- passwords ------------------------------------------------------------------------------

def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; parameters inside the hash)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing hash (an OIDC-only user) matches nothing, after
    the same work as a real check."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str, *, name: str | None = None,
                         email: str | None = None) -> None:
    """Raise :class:`InvalidInput` for a password too weak to keep: shorter than
    :data:`MIN_PASSWORD_LENGTH`, padded with spaces, one of the most common passwords
    (:func:`common_passwords`), or containing the user's name or the name part of their e-mail
    address (any case)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password must be at least {MIN_PASSWORD_LENGTH} characters "
                           "long", field="password")
    if password != password.strip():
        raise InvalidInput("the password must not start or end with spaces", field="password")
    folded = password.casefold()
    if folded in common_passwords() or folded.replace(" ", "") in common_passwords():
        raise InvalidInput("this password is on the list of the most common passwords, the "
                           "first ones an attacker tries; choose another (a few unrelated "
                           "words make a good one)", field="password")
    for part, what in ((name, "user name"), (_local_part(email), "e-mail address")):
        if part and len(part) >= MIN_NAME_IN_PASSWORD and part.casefold() in folded:
            raise InvalidInput(f"the password must not contain the {what} ({part!r}); choose "
                               "one that does not", field="password")


#: Shortest user name (or e-mail name part) that a password may not contain: "al" inside
#: "totally calm" is a coincidence, not a hint.
MIN_NAME_IN_PASSWORD = 3
#: One common password a line, lowercased; ``#`` lines say where the list comes from.
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords of :data:`MIN_PASSWORD_LENGTH` characters or more, lowercased
    (compiled from the lists of zxcvbn and Django: see the file's header)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _local_part(email: str | None) -> str | None:
    return email.split("@", 1)[0] if email else None


# --- slowing brute force --------------------------------------------------------------------

class Throttle:
    """Counts failed sign-ins per key (the name typed, the client address) and makes each one
    past ``free`` wait twice as long as the one before, up to ``max_wait_s``. A success clears
    its keys. Thread-safe: one instance serves every session of the server process.

    At most ``max_keys`` keys are kept, so a flood of made-up names cannot fill the memory:
    past it, keys quiet for ``forget_s`` go first, then the longest quiet."""

    def __init__(self, *, free: int = 3, max_wait_s: float = 300.0, forget_s: float = 3600.0,
                 max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.free, self.max_wait_s, self.forget_s, self.clock = free, max_wait_s, forget_s, clock
        self.max_keys = max_keys
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, keys: Iterable[str]) -> float:
        """Seconds to wait before the next try with any of ``keys`` is looked at (0: go on)."""
        now = self.clock()
        with self._lock:
            return max((self._wait(key, now) for key in keys), default=0.0)

    def _wait(self, key: str, now: float) -> float:
        count, last = self._failures.get(key, (0, 0.0))
        if now - last >= self.forget_s:
            self._failures.pop(key, None)
            return 0.0
        if count < self.free:
            return 0.0
        delay = min(self.max_wait_s, 2.0 ** (count - self.free))
        return max(0.0, last + delay - now)

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, now))
                fresh = now - last >= self.forget_s
                self._failures[key] = (1 if fresh else count + 1, now)
            if len(self._failures) > self.max_keys:
                self._shrink(now)

    def _shrink(self, now: float) -> None:
        kept = {k: v for k, v in self._failures.items() if now - v[1] < self.forget_s}
        if len(kept) > self.max_keys:
            newest = sorted(kept.items(), key=lambda item: item[1][1])[-(self.max_keys * 9 // 10):]
            kept = dict(newest)
        self._failures = kept

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


#: Failed sign-ins for one name from one address before each next try of that pair waits
#: (1 s, 2 s, 4 s ... up to :attr:`Throttle.max_wait_s`). Other addresses are not slowed: a
#: stranger who knows a user name cannot lock its owner out.
FREE_TRIES_PER_NAME_AND_ADDRESS = 5
#: Failed sign-ins from one address, whatever the names, before its tries wait: against trying
#: one password on many names. Looser, since an office or a proxy shares one address.
FREE_TRIES_PER_ADDRESS = 20


def throttle_keys(name: str, address: str | None) -> tuple[str, str]:
    """``(name-and-address key, address key)`` of a sign-in try. Names are case-folded (the
    name ``Ana`` is ``ana`` for the throttle, whatever the database says); an unknown address
    counts as one address of its own."""
    where = address or "unknown"
    return f"{name.strip().casefold()}\x00{where}", where


class SignInThrottle:
    """The two throttles in front of the password check: per (name, address) and, looser, per
    address. One instance serves every sign-in of the server process."""

    def __init__(self, *, per_pair: Throttle | None = None,
                 per_address: Throttle | None = None):
        self.per_pair = per_pair or Throttle(free=FREE_TRIES_PER_NAME_AND_ADDRESS)
        self.per_address = per_address or Throttle(free=FREE_TRIES_PER_ADDRESS)

    def wait_s(self, name: str, address: str | None) -> float:
        """Seconds before a try of ``name`` from ``address`` is looked at (0: go on)."""
        pair, where = throttle_keys(name, address)
        return max(self.per_pair.wait_s([pair]), self.per_address.wait_s([where]))

    def failed(self, name: str, address: str | None) -> None:
        pair, where = throttle_keys(name, address)
        self.per_pair.failed([pair])
        self.per_address.failed([where])

    def succeeded(self, name: str, address: str | None) -> None:
        """A right password clears its pair; the address keeps its count (a sprayer who
        guesses one name right is not let off for the others)."""
        self.per_pair.succeeded([throttle_keys(name, address)[0]])


# --- the store ------------------------------------------------------------------------------

def _user_from(row) -> User:
    ids, names = row["brand_ids"], row["brand_names"]
    return User(name=row["name"], role=row["role"], email=row["email"],
                brands=None if names is None else frozenset(names),
                brand_ids=None if ids is None else frozenset(ids))


def account(conn: sa.Connection, login: str, *,
            by_email: bool = False) -> tuple[User, str | None] | None:
    """``(user, password hash)`` of the account called ``login`` (or with that e-mail address),
    or None. Works for the owner and for the dashboard's read-only role."""
    row = conn.execute(sql.query("accounts.sql", "account"),
                       {"login": login, "by_email": by_email}).mappings().first()
    return None if row is None else (_user_from(row), row["password_hash"])


def add_user(engine: sa.Engine, name: str, role: str, *, brands: Iterable[str] = (),
             all_brands: bool = False, password: str | None = None,
             email: str | None = None, actor: audit.Actor | None = None,
             reason: str | None = None) -> User:
    """Create a back-office user; :class:`InvalidInput` names what is wrong (taken name, unknown
    role or brand, no brands, weak password) and nothing is written. With ``actor`` the change
    is recorded in the audit trail (``user.add``; never the password)."""
    brands = sorted(set(brands))
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is not one of {', '.join(ROLES)}", field="role",
                           value=role)
    if all_brands and brands:
        raise InvalidInput("give --brand or --all-brands, not both", field="brand")
    if not all_brands and not brands:
        raise InvalidInput("a user needs at least one --brand, or --all-brands",
                           field="brand")
    if password is not None:
        check_password_rules(password, name=name, email=email)
    with engine.begin() as conn:
        known = delivery_brands.ids_by_name(conn, brands)
        missing = [b for b in brands if b not in known]
        if missing:
            raise InvalidInput(f"no brand called {missing[0]!r}; `callbacks brand list` shows "
                               "the brands", field="brand", value=missing[0])
        if email:
            owner = conn.execute(sql.query("accounts.sql", "email_taken"),
                                 {"email": email}).scalar()
            if owner:
                raise InvalidInput(f"the e-mail address {email!r} belongs to user {owner!r} "
                                   "already", field="email", value=email)
        try:
            user_id = conn.execute(sql.query("accounts.sql", "insert_user"), dict(
                name=name, email=email, role=role, all_brands=all_brands,
                password_hash=hash_password(password) if password is not None else None)
            ).scalar()
        except sa.exc.IntegrityError as exc:
            raise InvalidInput(_bad_user_field(name, email, exc), field="name",
                               value=name) from None
        if user_id is None:
            raise InvalidInput(f"user {name!r} exists already; `callbacks user remove "
                               f"{name}` first to change their role or brands, or `callbacks "
                               f"user passwd {name}` to change the password", field="name",
                               value=name)
        conn.execute(sql.query("accounts.sql", "insert_user_brands"),
                     {"user_id": user_id, "brands": brands})
        if actor is not None:
            _record(conn, actor, "user.add", name, None, _audited(conn, name), reason,
                    password)
    return User(name, role, None if all_brands else frozenset(brands), email=email)


def _bad_user_field(name: str, email: str | None, exc: sa.exc.IntegrityError) -> str:
    if "email" in str(exc.orig):
        return f"{email!r} is not an e-mail address (name@example.com)"
    return (f"user name {name!r} must be letters, digits, '_', '.', '@', '+' or '-' "
            "(at most 128), starting with a letter or digit")


def list_users(engine: sa.Engine) -> list[dict]:
    """Every user: name, email, role, brands (names; None for all), has_password, dates."""
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(sql.query("accounts.sql", "list_users")).mappings()]
    for row in rows:
        if row.pop("all_brands"):
            row["brands"] = None
    return rows


def remove_user(engine: sa.Engine, name: str, *, actor: audit.Actor | None = None,
                reason: str | None = None) -> None:
    """Remove a user; their sessions end with them (signed out at their next click). Recorded
    as ``user.remove`` with ``actor``."""
    with engine.begin() as conn:
        before = _audited(conn, name) if actor is not None else None
        if conn.execute(sql.query("accounts.sql", "remove_user"), {"name": name}).scalar() is None:
            raise UnknownUser(f"no back-office user called {name!r}; `callbacks user list` "
                              "shows them")
        _record(conn, actor, "user.remove", name, before, None, reason)


def set_password(engine: sa.Engine, name: str, password: str, *,
                 actor: audit.Actor | None = None, reason: str | None = None) -> None:
    """Give a user a new password; every session of theirs ends (migration 021's trigger).
    Recorded as ``user.passwd`` with ``actor`` (the password shown as ``***`` → ``***
    (changed)``)."""
    with engine.begin() as conn:
        email = conn.execute(sql.query("accounts.sql", "email_of"), {"name": name}).first()
        if email is None:
            raise UnknownUser(f"no back-office user called {name!r}; `callbacks user list` "
                              "shows them")
        check_password_rules(password, name=name, email=email[0])
        before = _audited(conn, name) if actor is not None else None
        new_hash = hash_password(password)
        found = conn.execute(sql.query("accounts.sql", "set_password"),
                             {"name": name, "password_hash": new_hash})
        if found.scalar() is None:
            raise UnknownUser(f"no back-office user called {name!r}; `callbacks user list` "
                              "shows them")
        if actor is not None:
            _record(conn, actor, "user.passwd", name,
                    {"password": before["password"]}, {"password": new_hash}, reason, password,
                    new_hash)


def _audited(conn: sa.Connection, name: str) -> dict | None:
    """A user as the audit trail shows them: role, brands, e-mail, and whether they have a
    password (masked by the trail)."""
    row = conn.execute(sql.query("accounts.sql", "user_audited"), {"name": name}).mappings().first()
    if row is None:
        return None
    return dict(role=row["role"], brands=None if row["all_brands"] else list(row["brands"]),
                all_brands=row["all_brands"], email=row["email"],
                password=row["password_hash"])


def _record(conn: sa.Connection, actor: audit.Actor | None, kind: str, name: str,
            before: dict | None, after: dict | None, reason: str | None,
            *secrets: str | None) -> None:
    if actor is not None:
        audit.record(conn, actor=actor, kind=kind, brand_id=None, subject=name, before=before,
                     after=after, reason=reason, secrets=tuple(s for s in secrets if s))
