"""Callback API reference — the contract the dispatcher enforces, per destination."""
from __future__ import annotations

import json

import pandas as pd
import streamlit as st

import contract
from delivery import urls

from .. import components, markup, reference


@components.guarded
def render() -> None:
    scope = components.scope()
    brand = scope.brand
    components.page_header(
        "Callback API reference",
        f"Contract {contract.CONTRACT_VERSION}, rendered from the same definition the "
        "dispatcher validates and classifies with.")
    schedule = tuple(brand["retry_schedule_s"]) if brand else contract.DEFAULT_RETRY_SCHEDULE_S
    timeout_s = float(brand["timeout_s"]) if brand else contract.DEFAULT_TIMEOUT_S
    where = (urls.join(brand["base_url"], "{destination}") if brand
             else "{platform base URL}{destination}")
    request_line = markup.code(f"POST {where}")
    retries_for = ("for brand " + markup.text(brand["name"]) if brand else
                   "(default; a brand may override)")
    st.markdown(
        f"""
Every callback is {request_line} with a JSON body (snake_case keys, money and
odds as decimal strings, enums as integers, times ISO 8601 UTC). Headers on every attempt:

| Header | Value |
|---|---|
| `Content-Type` | `application/json` |
| `Foreign-Params` | JSON object: what your platform attached to the player's session token |
| `X-Request-ID` | This attempt's id — the Attempt ID in Callback history; log it |
| `webhook-id`, `webhook-timestamp`, `webhook-signature` | Standard Webhooks signature, when \
the brand has a signing secret |

**Answers.** Any 2xx is a success. A **400** whose body is
`{{"error": {{"code": "…", "data": {{…}}}}}}` with a code listed as *supported* for that
destination is a normal business answer and is not retried. Anything else — another code, an
unreadable body, other 4xx, 3xx (redirects are not followed), 5xx, a timeout
(after {timeout_s:g} s) or a connection error — is retried.

**Retries** {retries_for}:
{len(schedule)} attempts at {reference.schedule_text(schedule)} (each wait ±
{contract.RETRY_JITTER:.0%}); a `429` may set `Retry-After` (honoured up to
{contract.MAX_RETRY_AFTER_S // 60} min). `request_id` is the same on every retry of a callback —
answer a repeated `request_id` as the first time and apply it once.
""")
    tabs = st.tabs([d.path for d in contract.DESTINATIONS.values()])
    for tab, destination in zip(tabs, contract.DESTINATIONS.values(), strict=False):
        with tab:
            _destination(destination)


def _destination(destination: contract.Destination) -> None:
    st.subheader(f"{destination.title} — `{destination.path}`")
    st.markdown(destination.sent_when)
    if destination.notes:
        st.caption(destination.notes)
    rows = reference.field_rows(destination)
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True,
                     height=components.table_height(len(rows), max_rows=40),
                     column_config={"Description": st.column_config.TextColumn(width="large")})
    else:
        st.markdown("**No body.** The request carries the player's session in the "
                    "`Foreign-Params` header only; answer `204` while the session is live.")
    body, errors = st.columns(2, gap="large")
    with body:
        st.markdown("**Example request body**")
        st.code(json.dumps(reference.example_body(destination), indent=2), language="json")
    with errors:
        st.markdown("**Supported 400 error codes**")
        if not destination.supported_errors:
            st.markdown(f"None: any 400 from `{destination.path}` is unsupported and retried.")
        for error in destination.supported_errors:
            st.markdown(f"`{error.code}` — {error.meaning}")
            st.code(json.dumps(reference.error_example(error), indent=2), language="json")
