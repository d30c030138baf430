"""The ``callbacks`` command: one root parser, one ``main()``, exit codes, the supervision of
worker and demo processes. Each component registers its own subcommands."""
