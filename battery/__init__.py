"""The Integration Test: the battery of cases run against a platform through the real sender.

``plan`` builds the cases' steps (``cases``, ``script``, ``steps``), ``runner`` sends them and
judges each answer (``verdicts``), ``results`` holds what came of a run, ``store`` keeps runs in
the pipeline history, ``reports`` writes JUnit and JSON, ``cli`` is ``callbacks integration-test``.
"""
