"""The root of ``callbacks``: every command listed once with the help its module gives, and
only the module of the command being run imported."""
import subprocess
import sys

from callbacks import main


def _help_lines(parser) -> dict[str, str]:
    [sub] = [a for a in parser._actions if a.dest == "command"]
    return {choice.dest: choice.help for choice in sub._choices_actions}


def test_the_command_table_lists_what_the_modules_register_in_their_order():
    registered = _help_lines(main.build_parser())
    listed = {name: help_line for name, (help_line, _) in main.COMMANDS.items()}
    assert list(registered) == list(listed)
    assert registered == listed


def test_one_command_defined_in_full_leaves_the_others_as_names():
    parser = main.build_parser(["status"])
    assert _help_lines(parser) == {n: h for n, (h, _) in main.COMMANDS.items()}
    assert callable(parser.parse_args(["status"]).func)
    assert not hasattr(parser.parse_args(["archive"]), "func")


def _imported_after(argv: list[str], modules: tuple[str, ...]) -> str:
    """Which of ``modules`` a fresh interpreter has imported after ``callbacks ARGV``."""
    probe = ("import sys, contextlib, io\n"
             "from callbacks import main\n"
             "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
             f"    main.main({argv!r})\n"
             f"print(sorted(set({modules!r}) & set(sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.strip()


def test_help_imports_no_database_or_data_library():
    heavy = ("sqlalchemy", "pandas", "pyarrow", "duckdb", "httpx", "argon2")
    assert _imported_after(["--help"], heavy) == "[]"


def test_a_command_imports_its_own_module_only():
    others = ("callbacks.commands", "api.cli", "archive.cli")
    assert _imported_after(["sandbox", "--help"], others) == "[]"
    assert _imported_after(["archive", "--help"], others) == "['archive.cli']"
