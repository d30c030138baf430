"""Every read and write of brands, their settings and their URL credentials: the only module
that runs ``sql/brands.sql``.

People's changes — ``callbacks brand add`` (:func:`add`, a new name only) and ``callbacks brand
set`` (:func:`change`, a brand's delivery settings), :func:`set_visible_keys` — are each recorded
in the audit trail (:mod:`delivery.audit`) in the transaction that makes it. Re-routing is an
action of its own (``callbacks brand set-url``: it counts what it re-routes).

:func:`add_brand` (an upsert), :func:`set_brand_visible_keys` and :func:`set_brand_currency`
are for tests, benchmarks and seeding; they record nothing.

Every URL a brand is given passes the one URL rule, :func:`delivery.urls.parse`; credentials in
it are stored apart (owner only) and sent as ``Authorization: Basic``.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

import contract
import sql

from . import audit, keys, masking, urls, validation
from .errors import BrandExists, InvalidInput, UnknownBrand

_FILE = "brands.sql"


@dataclass(frozen=True)
class Brand:
    """An operator's brand: where its callbacks go and how they are sent."""

    id: int
    name: str
    base_url: str
    retry_schedule_s: tuple[int, ...]
    timeout_s: float
    max_in_flight: int
    signing_secret: str | None = None
    #: Foreign-Params keys shown in the stored history; every other value is masked.
    visible_keys: tuple[str, ...] = ()
    #: Seconds between the heartbeats of each of its live player sessions (±10 % jitter).
    heartbeat_interval_s: int = contract.DEFAULT_HEARTBEAT_INTERVAL_S

    @classmethod
    def from_row(cls, row) -> Brand:
        return cls(row.id, row.name, row.base_url, tuple(row.retry_schedule_s),
                   float(row.timeout_s), row.max_in_flight, row.signing_secret,
                   tuple(row.visible_keys or ()), row.heartbeat_interval_s)

    def mask(self, key: bytes | None) -> masking.Mask:
        """How this brand's stored copies are masked, with the installation's fingerprint
        ``key`` (:func:`fingerprint_key`)."""
        return masking.for_brand(key, self.visible_keys)


# --- for tests, benchmarks and seeding (nothing recorded) -----------------------------------

def add_brand(engine: sa.Engine, name: str, base_url: str, *,
              retry_schedule_s: tuple[int, ...] = contract.DEFAULT_RETRY_SCHEDULE_S,
              timeout_s: float = contract.DEFAULT_TIMEOUT_S,
              max_in_flight: int = contract.DEFAULT_MAX_IN_FLIGHT,
              signing_secret: str | None = None,
              heartbeat_interval_s: int = contract.DEFAULT_HEARTBEAT_INTERVAL_S) -> Brand:
    """Create the brand, or update its settings when it exists (its visible keys are kept).
    For tests, benchmarks and seeding: it records nothing; people's changes go through
    :func:`add` and :func:`change`.

    ``base_url`` passes the URL rule (:func:`delivery.urls.parse`); credentials in it are
    stored apart (owner only) and sent as ``Authorization: Basic``; a URL without credentials
    removes the brand's (they must never follow it to another host)."""
    target = urls.parse(base_url, what="brand URL")
    heartbeat_interval_s = validation.heartbeat_interval(heartbeat_interval_s)
    with engine.begin() as conn:
        row = conn.execute(sql.query(_FILE, "upsert_brand"), dict(
            name=name, base_url=target.url, retry_schedule_s=list(retry_schedule_s),
            timeout_s=timeout_s, max_in_flight=max_in_flight,
            signing_secret=signing_secret, heartbeat_interval_s=heartbeat_interval_s)).one()
        set_url_credentials(conn, row.id, target.credentials)
    return Brand.from_row(row)


def set_url_credentials(conn: sa.Connection, brand_id: int, credentials: str | None) -> None:
    """Store (or, with None, remove) the ``user:password`` split off the brand's URL. Owner
    only: no back-office role may read or write them."""
    if credentials is None:
        conn.execute(sql.query(_FILE, "drop_url_credentials"), {"brand_id": brand_id})
        return
    username, _, password = credentials.partition(":")
    conn.execute(sql.query(_FILE, "set_url_credentials"),
                 {"brand_id": brand_id, "username": username, "password": password})


def url_credentials(conn: sa.Connection | sa.Engine, brand_id: int) -> str | None:
    """The brand's ``user:password`` for ``Authorization: Basic``, or None (owner only)."""
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return url_credentials(c, brand_id)
    return conn.execute(sql.query(_FILE, "url_credentials"), {"brand_id": brand_id}).scalar()


def brands_with_url_credentials(engine: sa.Engine) -> set[int]:
    """Ids of the brands whose URL has credentials (owner only)."""
    with engine.connect() as conn:
        return set(conn.execute(sql.query(_FILE, "brands_with_url_credentials")).scalars())


def set_brand_visible_keys(engine: sa.Engine, name: str,
                           keys: tuple[str, ...]) -> Brand:
    """Declare the brand's Foreign-Params keys whose values are not secret (exact names, any
    case); every other value is masked when stored. No keys clears the list. The history
    stored before keeps its masks: a value masked once is never shown again."""
    try:
        visible = masking.visible_keys(keys)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="visible_keys") from None
    with engine.begin() as conn:
        row = conn.execute(sql.query(_FILE, "set_visible_keys_by_name"),
                           {"name": name, "keys": list(visible)}).first()
        if row is None:
            brand_named(conn, name)
    return Brand.from_row(row)


def fingerprint_key(engine: sa.Engine) -> bytes:
    """The installation's key behind masked values' fingerprints, read once per process and
    engine. Needs the owner's engine."""
    return keys.cached_key(engine, keys.FINGERPRINT)


def set_brand_currency(engine: sa.Engine, name: str, currency: str | None) -> None:
    """The currency the brand's platform keeps wallets in (money at risk is added up per
    currency); None clears it."""
    with engine.begin() as conn:
        changed = conn.execute(sql.query(_FILE, "set_brand_currency"),
                               {"name": name, "currency": currency}).rowcount
        if changed == 0:
            brand_named(conn, name)


# --- reading ------------------------------------------------------------------------------

def all_brands(engine: sa.Engine) -> list[Brand]:
    """Every brand, by name."""
    with engine.connect() as conn:
        return [Brand.from_row(r) for r in conn.execute(sql.query(_FILE, "brands"))]


def currency_of(conn: sa.Connection | sa.Engine, brand_id: int) -> str | None:
    """The currency the brand's wallets are kept in, None when it is not set."""
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return currency_of(c, brand_id)
    return conn.execute(sql.query(_FILE, "brand_currency"), {"brand_id": brand_id}).scalar()


def brand_named(conn: sa.Connection | sa.Engine, name: str) -> Brand:
    """The brand called ``name``, or :class:`UnknownBrand` listing the known ones (on an open
    connection, in the caller's transaction)."""
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return brand_named(c, name)
    row = conn.execute(sql.query(_FILE, "brand_named"), {"name": name}).first()
    if row is not None:
        return Brand.from_row(row)
    raise UnknownBrand(f"no brand named {name!r} (known brands: {known_names(conn)}); add it "
                       f"with `callbacks brand add {name} --url BASE_URL`", field="brand",
                       value=name)


def known_names(conn: sa.Connection) -> str:
    """The brands' names for a message: ``"acme, beta"``, or ``"none yet"``."""
    return ", ".join(r.name for r in conn.execute(sql.query(_FILE, "brands"))) or "none yet"


def ids_by_name(conn: sa.Connection, names: list[str]) -> dict[str, int]:
    """``{name: id}`` of the stored brands among ``names``."""
    rows = conn.execute(sql.query(_FILE, "brands_by_name"), {"names": names})
    return {r.name: r.id for r in rows}


# --- people's changes (recorded) ------------------------------------------------------------

#: The settings ``brand set`` changes (the URL has ``brand set-url``, the visible keys
#: ``brand set-visible-keys``).
SETTINGS = ("retry_schedule_s", "timeout_s", "max_in_flight", "signing_secret", "currency",
            "heartbeat_interval_s")


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
            row = conn.execute(sql.query(_FILE, "insert_brand"), dict(
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
        set_url_credentials(conn, row.id, target.credentials)
        audit.record(conn, actor=actor, kind="brand.add", brand_id=row.id, subject=row.name,
                     after=dict(Settings.from_row(row).as_dict(),
                                url_credentials=target.credentials is not None),
                     reason=reason, secrets=tuple(s for s in (signing_secret,
                                                              target.credentials) if s))
    return Brand.from_row(row)


def set_visible_keys(engine: sa.Engine, name: str, keys: tuple[str, ...], actor: audit.Actor,
                     *, reason: str | None = None) -> Brand:
    """Declare the brand's Foreign-Params keys whose values are not secret (see
    :func:`set_brand_visible_keys`) and record ``brand.set_visible_keys`` when the
    list changes."""
    try:
        visible = list(masking.visible_keys(keys))
    except ValueError as exc:
        raise InvalidInput(str(exc), field="visible_keys") from None
    with engine.begin() as conn:
        row = conn.execute(sql.query(_FILE, "lock_brand"), {"name": name}).first()
        if row is None:
            raise UnknownBrand(f"no brand named {name!r}; `callbacks brand list` shows them",
                               field="brand", value=name)
        if list(row.visible_keys or ()) == visible:
            return Brand.from_row(row)
        updated = conn.execute(sql.query(_FILE, "set_visible_keys"),
                               {"id": row.id, "keys": visible}).one()
        audit.record(conn, actor=actor, kind="brand.set_visible_keys", brand_id=row.id,
                     subject=row.name, before={"visible_keys": list(row.visible_keys or ())},
                     after={"visible_keys": visible}, reason=reason)
    return Brand.from_row(updated)


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
        row = conn.execute(sql.query(_FILE, "lock_brand"), {"name": name}).first()
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
            return Brand.from_row(row), False
        updated = conn.execute(sql.query(_FILE, "update_brand"), dict(values, id=row.id)).one()
        if target is not None:  # a new URL never keeps the old one's credentials
            set_url_credentials(conn, row.id, target.credentials)
        audit.record(conn, actor=actor, kind="brand.set", brand_id=row.id, subject=row.name,
                     before=before.as_dict(), after=Settings.from_row(updated).as_dict(),
                     reason=reason, secrets=tuple(s for s in (before.signing_secret,
                                                              values["signing_secret"]) if s))
    return Brand.from_row(updated), True


def set_base_url(conn: sa.Connection, brand_id: int, base_url: str) -> None:
    """Point the brand at ``base_url`` in the caller's transaction (an integration manager's
    ``set-url``); the brand's URL credentials go with the old URL (trigger
    ``brands_url_changed``)."""
    conn.execute(sql.query("brands.sql", "set_base_url"),
                 {"brand_id": brand_id, "base_url": base_url})

