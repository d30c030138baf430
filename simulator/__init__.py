"""The traffic simulator: plays the sportsbook, walking bets through realistic lifecycles."""
