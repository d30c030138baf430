"""`callbacks brand test-url add|list|remove`: the URLs an administrator lets the dashboard's
Integration Test run a brand's battery against, besides the brand's own."""
import json

from test_cli import callbacks


def test_add_list_remove(database_url, clean_db):
    callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9")
    callbacks(database_url, "brand", "add", "zeta", "--url", "http://127.0.0.1:10")
    added = callbacks(database_url, "brand", "test-url", "add", "acme",
                      "https://staging.acme.example/cb")
    assert added.returncode == 0, added.stderr
    assert "can be tested from the Integration Test page" in added.stdout
    again = callbacks(database_url, "brand", "test-url", "add", "acme",
                      "https://staging.acme.example/cb")
    assert again.returncode == 0 and "registered already" in again.stdout
    callbacks(database_url, "brand", "test-url", "add", "zeta", "http://127.0.0.1:11")
    listed = json.loads(callbacks(database_url, "brand", "test-url", "list", "--json").stdout)
    assert [(r["brand"], r["url"]) for r in listed] == [
        ("acme", "https://staging.acme.example/cb"), ("zeta", "http://127.0.0.1:11")]
    one = callbacks(database_url, "brand", "test-url", "list", "zeta").stdout
    assert "http://127.0.0.1:11" in one and "acme" not in one
    removed = callbacks(database_url, "brand", "test-url", "remove", "acme",
                        "https://staging.acme.example/cb")
    assert removed.returncode == 0, removed.stderr
    assert [r["brand"] for r in json.loads(callbacks(
        database_url, "brand", "test-url", "list", "--json").stdout)] == ["zeta"]


def test_mistakes_are_errors_that_say_what_to_do(database_url, clean_db):
    callbacks(database_url, "brand", "add", "acme", "--url", "http://127.0.0.1:9")
    for args, message in [
        (["add", "nope", "http://x.example"], "no brand called 'nope'"),
        (["add", "acme", "ftp://x.example"], "must start with http:// or https://"),
        (["add", "acme", "http://x.example/a b"], "holds a space"),
        (["add", "acme", "https://qa:s3cret@x.example/cb"],
         "test URL 'https://qa:***@x.example/cb' carries credentials, which only a brand's own "
         "URL may"),
        (["remove", "acme", "http://never.example"],
         "'http://never.example' is not a test URL of brand 'acme'"),
        (["list", "nope"], "no brand called 'nope'"),
    ]:
        done = callbacks(database_url, "brand", "test-url", *args)
        assert done.returncode == 2 and done.stderr.startswith("error: "), (args, done.stderr)
        assert message in done.stderr, (args, done.stderr)
        assert "s3cret" not in done.stderr
