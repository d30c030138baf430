"""Alerts: rules per brand, evaluated by the scheduler, notifications sent to URLs with retries.

- :mod:`.rules`    the rules, their defaults and the evaluation (pure)
- :mod:`.messages` what a notification says (pure): Slack-compatible ``text`` plus fields
- :mod:`.store`    the only module here that speaks SQL: rules, URLs, firing state, the outbox
- :mod:`.notify`   sends due notifications over HTTP, records each attempt, retries with back-off
- :mod:`.monitor`  the scheduler's hook: evaluates every 30 s; a thread sends notifications
- :mod:`.cli`      ``callbacks alert rule|url|history``
"""
