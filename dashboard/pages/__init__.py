"""One module per back-office page, each exposing ``render()``; layout only."""
