"""Times given on the command line (delivery.times)."""
from datetime import UTC, datetime, timedelta

import pytest

from delivery.errors import InvalidInput
from delivery.times import parse_time

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("30m", NOW - timedelta(minutes=30)), ("2h", NOW - timedelta(hours=2)),
    ("7d", NOW - timedelta(days=7)), ("2w", NOW - timedelta(weeks=2)),
    ("2026-12-01T08:00", datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ("2026-12-01T08:00Z", datetime(2026, 12, 1, 8, tzinfo=UTC)),
    ("2026-12-01T09:00+01:00", datetime(2026, 12, 1, 8, tzinfo=UTC)),
])
def test_an_instant_or_an_age_in_utc(text, expected):
    at = parse_time(text, "--since", NOW)
    assert at == expected and at.tzinfo is not None
    assert at.utcoffset() == timedelta(0)


def test_a_bad_or_future_time_names_the_option():
    with pytest.raises(InvalidInput, match="--exported-at 'soon' is not a time") as bad:
        parse_time("soon", "--exported-at", NOW)
    assert bad.value.field == "exported_at"
    assert parse_time("2027-01-01", "--until", NOW) > NOW
    with pytest.raises(InvalidInput, match="--since '2027-01-01' is in the future"):
        parse_time("2027-01-01", "--since", NOW, future=False)
