"""One step's request and answer as the Integration Test page shows them."""
from dashboard.exchange import Message, request_message, response_message


def test_a_request_shows_where_it_went_its_headers_and_its_json_body():
    message = request_message({"url": "https://op.example/bet/place",
                               "headers": {"Content-Type": "application/json",
                                           "Foreign-Params": '{"token": "***"}'},
                               "body": {"betId": "b-1", "amount": "10.00"}})
    assert message == Message(
        "POST https://op.example/bet/place",
        'Content-Type: application/json\nForeign-Params: {"token": "***"}',
        '{\n  "betId": "b-1",\n  "amount": "10.00"\n}', "json")


def test_an_answer_sums_up_status_outcome_time_and_error_above_headers_and_body():
    message = response_message({
        "status": 400, "headers": {"content-type": "application/json"},
        "body": '{"error":{"code":"limit_exceeded"}}', "outcome": "failed",
        "error_class": "refused", "error_detail": "limit_exceeded", "duration_ms": 12.4,
        "attempt_id": "a-1", "started_at": None})
    assert message.summary == "HTTP 400 · failed · 12 ms · refused: limit_exceeded · attempt_id a-1"
    assert message.headers == "content-type: application/json"
    assert message.body == '{\n  "error": {\n    "code": "limit_exceeded"\n  }\n}'
    assert message.language == "json"


def test_no_answer_and_a_text_body_are_shown_as_they_are():
    assert response_message({"status": None, "body": None, "outcome": "timeout"}) == Message(
        "no HTTP answer · timeout", "", "(empty)", "text")
    assert response_message({"status": 502, "body": "<html>bad gateway</html>"}).body == \
        "<html>bad gateway</html>"
