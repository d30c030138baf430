"""The read-only inspection page at ``/_sandbox/``: players, recent requests, bets, settings, and
the download of the ledger CSV."""
from __future__ import annotations

from html import escape

#: The page reloads itself this often.
REFRESH_S = 5
#: Where the page's download link points (the ledger CSV of every movement).
LEDGER_CSV_PATH = "/_sandbox/ledger.csv"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f3f3f3; }
td.money { text-align: right; font-variant-numeric: tabular-nums; }
.bad { color: #a00; }
code { background: #f3f3f3; padding: 0 0.2rem; }
a.download { display: inline-block; padding: 0.35rem 0.8rem; border: 1px solid #2a5db0;
             border-radius: 4px; color: #fff; background: #2a5db0; text-decoration: none; }
"""


def render_page(state: dict, settings: dict) -> str:
    """The whole HTML page for ``Platform.state()`` and ``SandboxConfig.describe()``."""
    faults = settings["faults"]
    setting_rows = [
        ("Base path", settings["base_path"] or "/"),
        ("Bug switches", ", ".join(settings["bugs"]) or "none"),
        ("Latency", faults["latency"]),
        ("5xx share", f"{faults['error_rate']:g} (statuses {faults['error_statuses']})"),
        ("Timeout share", f"{faults['timeout_rate']:g} (hang {faults['timeout_s']:g} s)"),
        ("Unsupported 400 share",
         f"{faults['unsupported_rate']:g} (code {faults['unsupported_code']})"),
        ("Outages", "; ".join(faults["outages"]) or "none"),
        ("State file", settings["state_file"] or "none (state is lost on restart)"),
        ("Ledger currency", settings["currency"]),
    ]
    players = [(p["player_id"], p["token"], _money(p["available"]), _money(p["held"]),
                "expired" if p["expired"] else "") for p in state["players"]]
    recent = [(r["at"], r["destination"], r["request_id"] or "", r["bet_id"] or "",
               r["player_id"] or "", _status(r["status"]), r["code"] or "", r["note"])
              for r in state["recent"]]
    bets = [(b["bet_id"], b["player_id"], b["bet_type"], _money(b["stake"]),
             _money(b["held_amount"]), b["state"], _money(b["credited"])) for b in state["bets"]]
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="{REFRESH_S}">
<title>Sandbox platform</title><style>{_STYLE}</style></head>
<body>
<h1>Sandbox platform</h1>
<p>A reference operator platform for the callback contract. JSON: <code>/_sandbox/state</code>.</p>
<p><a class="download" href="{LEDGER_CSV_PATH}" download>Download ledger (CSV)</a>
{state["movements_count"]} balance movement{"" if state["movements_count"] == 1 else "s"}
journaled (also at <code>/ledger.csv</code>; <code>?player_id=</code> keeps one player's).</p>
<h2>Settings</h2>
{_table(("Setting", "Value"), setting_rows)}
<h2>Players ({len(state["players"])})</h2>
{_table(("Player", "Token", "Available", "Held", ""), players)}
<h2>Recent requests (newest first)</h2>
{_table(("At (UTC)", "Destination", "Request ID", "Bet", "Player", "Status", "Code", "Note"),
        recent)}
<h2>Bets ({state["bets_count"]}, latest first)</h2>
{_table(("Bet", "Player", "Type", "Stake", "Held", "State", "Credited"), bets)}
</body></html>
"""


class _Raw(str):
    """Cell content that is already HTML."""


def _money(text: str) -> _Raw:
    return _Raw(f'<td class="money">{escape(text)}</td>')


def _status(status: int) -> _Raw:
    css = ' class="bad"' if status >= 400 or status == 0 else ""
    return _Raw(f"<td{css}>{status or 'no answer'}</td>")


def _table(headings: tuple[str, ...], rows: list[tuple]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    if not rows:
        return f"<table><tr>{head}</tr><tr><td colspan={len(headings)}>No data</td></tr></table>"
    body = "".join(
        "<tr>" + "".join(cell if isinstance(cell, _Raw) else f"<td>{escape(str(cell))}</td>"
                         for cell in row) + "</tr>"
        for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
