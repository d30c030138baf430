"""The sign-in form's page: plain HTML, no script, in the product's colours.
:mod:`dashboard.gate` serves it at ``/sign-in``; everything it shows is escaped here."""
from __future__ import annotations

import html


def page(*, action: str, next_path: str, name: str = "", message: str = "",
         tone: str = "error") -> str:
    """The page: the product's name, the form posting to ``action`` (with ``next_path``, already
    checked, as a hidden field), the name typed so far, and a message (``tone``: ``error`` or
    ``info``)."""
    role = "alert" if tone == "error" else "status"
    notice = (f'<p class="notice {html.escape(tone)}" role="{role}">{html.escape(message)}</p>'
              if message else "")
    # The cursor waits where typing goes on: the password once a name was typed.
    focus = {"name_focus": "" if name else " autofocus",
             "password_focus": " autofocus" if name else ""}
    return _PAGE.format(notice=notice, next=html.escape(next_path, quote=True),
                        name=html.escape(name, quote=True), action=html.escape(action), **focus)


_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>Sign in · Callback Desk</title>
<style>
  body {{margin: 0; background: #f3f6fa; color: #1d2433;
        font: 14px/1.5 "Source Sans Pro", "Source Sans 3", system-ui, sans-serif;}}
  main {{max-width: 24rem; margin: 12vh auto 0; padding: 2rem 2.2rem; background: #fff;
         border: 1px solid #dde3ec; border-radius: 0.5rem;}}
  h1 {{font-size: 1.9rem; margin: 0 0 0.2rem; font-weight: 700;}}
  .lead {{color: #5b6578; margin: 0 0 1.4rem;}}
  label {{display: block; font-size: 0.9rem; margin: 0 0 0.3rem;}}
  input {{box-sizing: border-box; width: 100%; padding: 0.5rem 0.65rem; margin: 0 0 1rem;
          font: inherit; color: inherit; border: 1px solid #c9d1dd; border-radius: 0.4rem;
          background: #fff;}}
  input:focus {{outline: 2px solid #1f5fbf33; border-color: #1f5fbf;}}
  button {{width: 100%; padding: 0.55rem; font: inherit; font-weight: 600; color: #fff;
           background: #1f5fbf; border: 0; border-radius: 0.4rem; cursor: pointer;}}
  button:hover {{background: #194f9f;}}
  .notice {{padding: 0.6rem 0.8rem; border-radius: 0.4rem; margin: 0 0 1.2rem;}}
  .error {{background: #fdecee; color: #8a1f2b;}}
  .info {{background: #e8f0fb; color: #1b4a8f;}}
  .foot {{color: #7a8599; font-size: 0.85rem; margin: 1.2rem 0 0;}}
  code {{font-size: 0.8rem; background: #f3f6fa; padding: 0.05rem 0.3rem; border-radius: 3px;}}
</style>
</head>
<body>
<main>
  <h1>Callback Desk</h1>
  <p class="lead">Sign in to the back-office.</p>
  {notice}
  <form method="post" action="{action}">
    <input type="hidden" name="next" value="{next}">
    <label for="name">User name</label>
    <input id="name" name="name" autocomplete="username" autocapitalize="none"
           spellcheck="false" required{name_focus} value="{name}">
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password"
           required{password_focus}>
    <button type="submit">Sign in</button>
  </form>
  <p class="foot">No account? An administrator creates one with <code>callbacks user
  add</code>.</p>
</main>
</body>
</html>
"""
