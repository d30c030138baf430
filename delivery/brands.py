"""Brands as people change them: ``callbacks brand add`` (a new name only) and ``callbacks
brand set`` (a brand's delivery settings), each recorded in the audit trail
(:mod:`delivery.audit`) in the transaction that makes it. Re-routing is an action of its own
(:func:`delivery.actions.set_url`: it counts what it re-routes).

:func:`delivery.store.add_brand` stays an upsert for tests, benchmarks and seeding; it records
nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import sqlalchemy as sa

import contract
import sql

from . import audit, masking, store, urls, validation
from .errors import BrandExists, InvalidInput, UnknownBrand
from .store import Brand

#: The settings ``brand set`` changes (the URL has ``brand set-url``, the visible keys
#: ``brand set-visible-keys``).
SETTINGS = ("retry_schedule_s", "timeout_s", "max_in_flight", "signing_secret", "currency",
            "heartbeat_interval_s")


@cache
def _q(name: str) -> sa.TextClause:
    return sa.text(sql.queries("brands.sql")[name])


@dataclass(frozen=True)
class Settings:
    """A brand's delivery settings as the trail shows them (the signing secret is masked
    there)."""

    base_url: str
    retry_schedule_s: tuple[int, ...]
    timeout_s: float
    max_in_flight: int
    signing_secret: str | None
    currency: str | None
    heartbeat_interval_s: int

    @classmethod
    def from_row(cls, row) -> Settings:
        return cls(row.base_url, tuple(row.retry_schedule_s), float(row.timeout_s),
                   row.max_in_flight, row.signing_secret, row.currency,
                   row.heartbeat_interval_s)

    def as_dict(self) -> dict:
        return dict(base_url=self.base_url, retry_schedule_s=list(self.retry_schedule_s),
                    timeout_s=self.timeout_s, max_in_flight=self.max_in_flight,
                    signing_secret=self.signing_secret, currency=self.currency,
                    heartbeat_interval_s=self.heartbeat_interval_s)


def _brand(row) -> Brand:
    return Brand.from_row(row)


def add(engine: sa.Engine, name: str, base_url: str, actor: audit.Actor, *,
        retry_schedule_s: tuple[int, ...] = contract.DEFAULT_RETRY_SCHEDULE_S,
        timeout_s: float = contract.DEFAULT_TIMEOUT_S,
        max_in_flight: int = contract.DEFAULT_MAX_IN_FLIGHT,
        signing_secret: str | None = None, currency: str | None = None,
        heartbeat_interval_s: int = contract.DEFAULT_HEARTBEAT_INTERVAL_S,
        reason: str | None = None) -> Brand:
    """Create the brand and record ``brand.add``; :class:`BrandExists` (nothing changed) when
    the name is taken. ``base_url`` passes the URL rule; its credentials are stored apart and
    the trail says only whether there are any."""
    target = urls.parse(base_url, what="brand URL")
    heartbeat_interval_s = validation.heartbeat_interval(heartbeat_interval_s)
    with engine.begin() as conn:
        try:
            row = conn.execute(_q("insert_brand"), dict(
                name=name, base_url=target.url, retry_schedule_s=list(retry_schedule_s),
                timeout_s=timeout_s, max_in_flight=max_in_flight,
                signing_secret=signing_secret or None, currency=currency,
                heartbeat_interval_s=heartbeat_interval_s)).first()
        except sa.exc.IntegrityError:
            raise InvalidInput(f"brand name {name!r} must be letters, digits, '_', '.' or '-' "
                               "(at most 63)", field="name", value=name) from None
        if row is None:
            raise BrandExists(
                f"brand {name!r} exists already; nothing was changed. Re-route it with "
                f"`callbacks brand set-url {name} URL --reason TEXT`; change its other "
                f"settings with `callbacks brand set {name} --timeout-s N ... --reason TEXT`",
                field="name", value=name)
        store.set_url_credentials(conn, row.id, target.credentials)
        audit.record(conn, actor=actor, kind="brand.add", brand_id=row.id, subject=row.name,
                     after=dict(Settings.from_row(row).as_dict(),
                                url_credentials=target.credentials is not None),
                     reason=reason, secrets=tuple(s for s in (signing_secret,
                                                              target.credentials) if s))
    return _brand(row)


def set_visible_keys(engine: sa.Engine, name: str, keys: tuple[str, ...], actor: audit.Actor,
                     *, reason: str | None = None) -> Brand:
    """Declare the brand's Foreign-Params keys whose values are not secret (see
    :func:`delivery.store.set_visible_keys`) and record ``brand.set_visible_keys`` when the
    list changes."""
    try:
        visible = list(masking.visible_keys(keys))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="visible_keys") from None
    with engine.begin() as conn:
        row = conn.execute(_q("lock_brand"), {"name": name}).first()
        if row is None:
            raise UnknownBrand(f"no brand named {name!r}; `callbacks brand list` shows them",
                               field="brand", value=name)
        if list(row.visible_keys or ()) == visible:
            return _brand(row)
        updated = conn.execute(_q("set_visible_keys"), {"id": row.id, "keys": visible}).one()
        audit.record(conn, actor=actor, kind="brand.set_visible_keys", brand_id=row.id,
                     subject=row.name, before={"visible_keys": list(row.visible_keys or ())},
                     after={"visible_keys": visible}, reason=reason)
    return _brand(updated)


def change(engine: sa.Engine, name: str, actor: audit.Actor, *, reason: str,
           base_url: str | None = None, **given) -> tuple[Brand, bool]:
    """Change the settings given (the others are kept; ``signing_secret=""`` and
    ``currency=""`` clear) and record ``brand.set`` with what
    changed. ``(brand, changed)``: nothing is written when the settings are those already.
    ``base_url`` is for tools that re-route their own brands (the demo; it passes the URL rule,
    and its credentials, if any, replace the brand's); people use ``brand set-url``."""
    unknown = set(given) - set(SETTINGS)
    if unknown:
        raise TypeError(f"unknown brand settings: {', '.join(sorted(unknown))}")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required (--reason TEXT): it goes into the audit trail",
                           field="reason", value=reason)
    if given.get("heartbeat_interval_s") is not None:
        validation.heartbeat_interval(given["heartbeat_interval_s"])
    with engine.begin() as conn:
        row = conn.execute(_q("lock_brand"), {"name": name}).first()
        if row is None:
            raise UnknownBrand(f"no brand named {name!r}; `callbacks brand list` shows them",
                               field="brand", value=name)
        before = Settings.from_row(row)
        values = before.as_dict()
        for key, value in given.items():
            if value is None:
                continue
            if key in ("signing_secret", "currency"):
                value = value or None
            values[key] = list(value) if key == "retry_schedule_s" else value
        target = None if base_url is None else urls.parse(base_url, what="brand URL")
        if target is not None:
            values["base_url"] = target.url
        if values == before.as_dict() and (target is None or target.credentials is None):
            return _brand(row), False
        updated = conn.execute(_q("update_brand"), dict(values, id=row.id)).one()
        if target is not None:  # a new URL never keeps the old one's credentials
            store.set_url_credentials(conn, row.id, target.credentials)
        audit.record(conn, actor=actor, kind="brand.set", brand_id=row.id, subject=row.name,
                     before=before.as_dict(), after=Settings.from_row(updated).as_dict(),
                     reason=reason, secrets=tuple(s for s in (before.signing_secret,
                                                              values["signing_secret"]) if s))
    return _brand(updated), True
