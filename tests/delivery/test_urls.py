"""The one URL rule (brands, Integration Test URLs, alert URLs), on plain values."""
import base64

import pytest

from delivery import urls
from delivery.errors import InvalidInput


@pytest.mark.parametrize("given, url", [
    ("https://ops.example", "https://ops.example"),
    ("https://ops.example/callbacks/", "https://ops.example/callbacks/"),
    ("  https://ops.example/cb  ", "https://ops.example/cb"),
    ("HTTPS://Ops.Example/CB", "https://ops.example/CB"),
    ("http://127.0.0.1:8080/cb", "http://127.0.0.1:8080/cb"),
    ("http://[::1]:8080/cb", "http://[::1]:8080/cb"),
    ("http://[2001:DB8::1]/cb", "http://[2001:db8::1]/cb"),
    ("https://ops.example/cb?k=v&x=%20y", "https://ops.example/cb?k=v&x=%20y"),
    ("https://ops.example?k=v", "https://ops.example?k=v"),
    ("http://@ops.example/cb", "http://ops.example/cb"),
])
def test_a_url_without_credentials_is_kept_with_scheme_and_host_in_lower_case(given, url):
    parsed = urls.parse(given)
    assert (parsed.url, parsed.credentials, parsed.authorization) == (url, None, None)


@pytest.mark.parametrize("given, url, credentials", [
    ("https://ann:s3cret@ops.example/cb", "https://ops.example/cb", "ann:s3cret"),
    ("https://ann%40acme:p%3Aw%2F%23@ops.example/cb?k=v", "https://ops.example/cb?k=v",
     "ann@acme:p:w/#"),
    ("https://ann:@ops.example", "https://ops.example", "ann:"),
    ("https://ann@ops.example", "https://ops.example", "ann:"),
    ("http://ann:pw@[::1]:9000/cb", "http://[::1]:9000/cb", "ann:pw"),
    ("HTTP://Ann:PW@OPS.example:8443/x", "http://ops.example:8443/x", "Ann:PW"),
    ("https://ann:p@ss@ops.example/cb", "https://ops.example/cb", "ann:p@ss"),
    ("https://j%C3%B6rg:gr%C3%BC%C3%9F@ops.example", "https://ops.example", "jörg:grüß"),
])
def test_credentials_are_split_off_and_percent_decoded(given, url, credentials):
    parsed = urls.parse(given)
    assert parsed.url == url and parsed.credentials == credentials
    assert parsed.authorization == "Basic " + base64.b64encode(credentials.encode()).decode()
    assert credentials.split(":", 1)[1] not in repr(parsed) or not credentials.split(":", 1)[1]


@pytest.mark.parametrize("given, says", [
    ("", "is empty"),
    ("ops.example/cb", "must start with http:// or https://"),
    ("ftp://ops.example/cb", "must start with http:// or https://"),
    ("javascript://ops.example/%0aalert(1)", "must start with http:// or https://"),
    ("https:ops.example", "must start with http:// or https://"),
    ("https:///cb", "names no host"),
    ("https://:8080/cb", "names no host"),
    ("https://ops.example:99999/cb", "not a port from 1 to 65535"),
    ("https://ops.example:0/cb", "empty or zero port"),
    ("https://ops.example:/cb", "empty or zero port"),
    ("https://ops.example:abc/cb", "not a port from 1 to 65535"),
    ("http://[::1/cb", "IPv6 host must be written in brackets"),
    ("https://ops.example/a b", "holds a space"),
    ("https://ops.example/cb\n", None),  # a trailing newline is trimmed like spaces
    ("https://ops.example/\tcb", "holds a space or a control character"),
    ("https://ops.example/cb#part", "has a fragment"),
    ("https://ops.example/cb#", "has a fragment"),
    ("https://:s3cret@ops.example/cb", "no user name"),
    ("https://a%3Ab:s3cret@ops.example/cb", "':' in its user name"),
])
def test_what_breaks_the_rule_is_refused_saying_what_to_do(given, says):
    if says is None:
        assert urls.parse(given).url == "https://ops.example/cb"
        return
    with pytest.raises(InvalidInput) as caught:
        urls.parse(given, what="brand URL")
    message = str(caught.value)
    assert says in message and message.startswith("brand URL ")
    assert caught.value.field == "url"


@pytest.mark.parametrize("given", [
    "https://ann:s3cret@ops.example/cb#frag",
    "https://ann:s3cret@ops.example:99999/cb",
    "https://ann:s3c#ret@ops.example/cb",
    "https://ann:s3c ret@ops.example/cb",
    "ftp://ann:s3cret@ops.example/cb",
    "https://:s3cret@ops.example/cb",
])
def test_an_error_never_shows_the_password(given):
    with pytest.raises(InvalidInput) as caught:
        urls.parse(given, what="brand URL")
    assert "s3c" not in str(caught.value) and "s3c" not in str(caught.value.value)
    assert ":***@" in str(caught.value)


@pytest.mark.parametrize("given, shown", [
    ("https://ann:s3cret@ops.example/cb", "https://ann:***@ops.example/cb"),
    ("https://tok3n@ops.example/cb", "https://***@ops.example/cb"),
    ("https://ops.example/cb?mail=a@b", "https://ops.example/cb?mail=a@b"),
    ("https://ops.example/cb", "https://ops.example/cb"),
    ("not a url", "not a url"),
    ("", ""),
])
def test_redact_masks_the_password_and_a_lone_user_name(given, shown):
    assert urls.redact(given) == shown


@pytest.mark.parametrize("base, path, url", [
    ("https://h/cb?k=v", "/bet/place", "https://h/cb/bet/place?k=v"),
    ("https://h/cb/?k=v&x=1", "/heartbeat", "https://h/cb/heartbeat?k=v&x=1"),
    ("https://h?k=v", "/bet/place", "https://h/bet/place?k=v"),
    ("https://h/cb/", "/bet/place", "https://h/cb/bet/place"),
    ("https://h/cb?", "/bet/place", "https://h/cb/bet/place"),
    ("http://[::1]:8080", "/bet/place", "http://[::1]:8080/bet/place"),
])
def test_a_destination_path_goes_before_the_query_string(base, path, url):
    assert urls.join(base, path) == url


def test_test_and_alert_urls_refuse_credentials():
    assert urls.parse_without_credentials("HTTPS://Hooks.example/T1?x=1", what="alert URL",
                                           instead="do X") == "https://hooks.example/T1?x=1"
    with pytest.raises(InvalidInput) as caught:
        urls.parse_without_credentials("https://ann:s3cret@hooks.example/T1",
                                       what="alert URL", instead="use a token URL")
    message = str(caught.value)
    assert "'https://ann:***@hooks.example/T1' carries credentials" in message
    assert message.endswith("use a token URL") and "s3cret" not in message
