"""A re-route (`set_url`) and the brand's URL credentials: the owner stores, replaces or drops
them and the audit trail says only what became of them; a back-office role, which cannot see
them, is refused a URL with credentials and its re-route drops them."""
import pytest
from url_credentials import (
    NEEDLES,
    PASSWORD,
    USER,
    found_secrets,
    role_engine,
    rows_as_text,
    secret_url,
)

from actions import store as actions
from actions.errors import ActionRefused, WrongState
from delivery import brands


def test_set_url_replaces_or_drops_the_credentials_and_the_audit_never_holds_them(clean_db):
    brand = brands.add_brand(clean_db, "acme", "http://127.0.0.1:9/cb")
    owner = actions.Actor("ops", "platform moved")
    first = actions.set_url(clean_db, "acme", secret_url("http://127.0.0.1:9"), owner)
    assert first.parameters["credentials"] == "added"
    # the trail keeps a query string's names, not its values (they may be tokens)
    assert first.parameters["new_url"] == "http://127.0.0.1:9/cb?k=***&z=***"
    with pytest.raises(WrongState, match="already with these credentials"):
        actions.set_url(clean_db, "acme", secret_url("http://127.0.0.1:9"), owner)
    rotated = actions.set_url(clean_db, "acme", "http://bob:n3w@127.0.0.1:9/cb?k=v&z=1", owner)
    assert rotated.parameters["credentials"] == "replaced"
    assert brands.url_credentials(clean_db, brand.id) == "bob:n3w"
    dry = actions.set_url(clean_db, "acme", "http://127.0.0.1:8/cb", owner, dry_run=True)
    assert dry.parameters["credentials"] == "removed"
    assert brands.url_credentials(clean_db, brand.id) == "bob:n3w"
    moved = actions.set_url(clean_db, "acme", "http://127.0.0.1:8/cb", owner)
    assert moved.parameters["credentials"] == "removed"
    assert brands.url_credentials(clean_db, brand.id) is None
    for table in ("actions", "brands"):
        assert found_secrets(clean_db, table) == []
        assert "n3w" not in str(rows_as_text(clean_db, table))


def test_a_back_office_re_route_drops_the_credentials_it_cannot_see(clean_db, database_url):
    brand = brands.add_brand(clean_db, "acme", secret_url("http://127.0.0.1:9"))
    operator = role_engine(database_url, "callbacks_operator", clean_db)
    who = actions.Actor("ann", "moved", "dashboard")
    try:
        with pytest.raises(ActionRefused, match="only the owner may store") as refused:
            actions.set_url(operator, "acme", secret_url("http://127.0.0.1:8"), who)
        assert not [n for n in NEEDLES if n in str(refused.value)]
        assert brands.url_credentials(clean_db, brand.id) == f"{USER}:{PASSWORD}"
        moved = actions.set_url(operator, "acme", "http://127.0.0.1:8/cb", who)
    finally:
        operator.dispose()
    assert moved.parameters["new_url"] == "http://127.0.0.1:8/cb"
    # They never follow the brand to another URL, though the operator could not read them.
    assert brands.url_credentials(clean_db, brand.id) is None
