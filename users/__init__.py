"""Back-office users: who may sign in, with what role, to which brands.

- :mod:`users.store` — accounts, roles and permissions, password rules and argon2 hashing, the
  slowing of repeated failed sign-ins (``sql/accounts.sql``);
- :mod:`users.sessions` — signed-in sessions: the cookie and the rows that keep it live
  (``sql/sessions.sql``).

No Streamlit here: the dashboard's sign-in (``dashboard.gate``, ``dashboard.auth``) and ``callbacks
user`` (``callbacks.users``) use them.
"""
