"""Brand URL credentials in tests: a password that must never be stored or shown, in every
spelling it could take, and engines of the back-office roles that must not reach it."""
from __future__ import annotations

import base64

import sqlalchemy as sa
from scopes import set_scope

USER, PASSWORD = "ann@acme", "p4ss/w0rd:#x"
#: The password as it is written in a URL (percent-encoded).
WRITTEN = "ann%40acme:p4ss%2Fw0rd%3A%23x"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
#: What must never be found stored or shown: the password, as typed, as written, as sent.
NEEDLES = (PASSWORD, "p4ss%2Fw0rd", "p4ss/w0rd", BASIC.split()[1])
ROLES = ("callbacks_reader", "callbacks_operator", "callbacks_battery")


def secret_url(receiver_url: str, path: str = "/cb?k=v&z=1") -> str:
    """``receiver_url`` with the credentials written into it, and a query string."""
    return receiver_url.replace("http://", f"http://{WRITTEN}@") + path


def found_secrets(engine, table: str) -> list[str]:
    """The needles found anywhere in the table's rows, read as the owner."""
    with engine.connect() as conn:
        text = "\n".join(conn.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars())
    return [n for n in NEEDLES if n in text]


def rows_as_text(engine, table: str) -> list[str]:
    """Every row of the table as text, read as the owner."""
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars().all()


def role_engine(database_url: str, role: str, owner: sa.Engine) -> sa.Engine:
    """An engine of a back-office role allowed to write, scoped to every brand."""
    engine = sa.create_engine(sa.make_url(database_url).set(username=role, password=None))

    @sa.event.listens_for(engine, "begin")
    def _every_brand(conn):
        # Not merely read-only (the reader is, by default): refused a write, it is not allowed
        # one at all. And the widest scope a back-office session can be given.
        conn.exec_driver_sql("SET TRANSACTION READ WRITE")
        set_scope(owner, conn, "*")

    return engine
