"""``callbacks user add|list|remove|passwd`` — the back-office's users, managed here only.

A password is asked on the terminal (twice), or read from the first line of standard input with
``--password-stdin`` (scripts). It is stored as an argon2 hash and never printed. Passwords of
fewer than 10 characters, among the most common ones, or containing the user name are refused.
A new password or the user's removal ends every back-office session of the user.
"""
from __future__ import annotations

import getpass
import json
import sys

from delivery import audit, database, migrate, settings
from delivery.errors import InvalidInput
from users import sessions
from users import store as accounts


def register(subparsers) -> None:
    """Add ``user`` and its actions."""
    user = subparsers.add_parser(
        "user", help="back-office users: add, list, remove, change a password, sign out",
        description="Users of the back-office (callbacks dashboard). Roles: analyst (read), "
                    "integration_manager (read, run the Integration Test, act on the queue), "
                    "admin. Each user sees one or more brands, or all.")
    sub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")

    add = sub.add_parser("add", help="add a user (asks for the password)")
    add.add_argument("name", help="the user name typed at sign-in")
    add.add_argument("--role", required=True, choices=accounts.ROLES)
    brands = add.add_mutually_exclusive_group(required=True)
    brands.add_argument("--brand", action="append", metavar="BRAND", dest="brands",
                        help="a brand the user sees (repeat for more)")
    brands.add_argument("--all-brands", action="store_true", help="the user sees every brand")
    add.add_argument("--email", help="e-mail address; with OIDC sign-in the identity with this "
                                     "verified address is this user")
    secret = add.add_mutually_exclusive_group()
    secret.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    secret.add_argument("--no-password", action="store_true",
                        help="no password: the user signs in with OIDC only (needs --email)")
    audit.add_options(add)
    add.set_defaults(func=cmd_add)

    lst = sub.add_parser("list", help="list users, their roles and brands")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)

    remove = sub.add_parser("remove", help="remove a user (their sessions end at once)")
    remove.add_argument("name")
    audit.add_options(remove)
    remove.set_defaults(func=cmd_remove)

    sign_out = sub.add_parser("sign-out", help="end every back-office session of a user "
                                               "(a lost laptop), keeping the password")
    sign_out.add_argument("name")
    audit.add_options(sign_out)
    sign_out.set_defaults(func=cmd_sign_out)

    passwd = sub.add_parser("passwd", help="set a user's password (their other sessions are "
                                           "signed out)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of standard input")
    audit.add_options(passwd)
    passwd.set_defaults(func=cmd_passwd)


def _engine():
    engine = database.make_engine(database.database_url(settings.from_env()), pool_size=1)
    migrate.require_current(engine)
    return engine


def read_password(name: str, from_stdin: bool) -> str:
    """The new password: stdin's first line, or asked twice on the terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise InvalidInput("--password-stdin read no password from standard input",
                               field="password")
        return password
    if not sys.stdin.isatty():
        raise InvalidInput("no terminal to ask for the password on; pipe it in with "
                           "--password-stdin", field="password")
    first = getpass.getpass(f"Password for {name}: ")
    accounts.check_password_rules(first, name=name)
    if getpass.getpass("Again: ") != first:
        raise InvalidInput("the two passwords differ; nothing was changed", field="password")
    return first


def cmd_add(args) -> int:
    if args.no_password and not args.email:
        raise InvalidInput("--no-password needs --email: without a password the user can only "
                           "sign in with OIDC, matched by e-mail address", field="email")
    engine = _engine()
    try:
        actor = audit.shell_actor(engine, args.actor)  # refused before a password is asked
        password = None if args.no_password else read_password(args.name, args.password_stdin)
        user = accounts.add_user(engine, args.name, args.role, brands=args.brands or (),
                                 all_brands=args.all_brands, password=password,
                                 email=args.email, actor=actor, reason=args.reason)
    finally:
        engine.dispose()
    print(f"user {user.name} added: {user.role_label}, {user.brands_label()}"
          + (f", e-mail {user.email}" if user.email else "")
          + ("" if password else ", OIDC sign-in only"))
    return 0


def cmd_list(args) -> int:
    engine = _engine()
    try:
        users = accounts.list_users(engine)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(users, indent=2, default=str))
        return 0
    if not users:
        print("no users yet; add one with `callbacks user add NAME --role ROLE --brand BRAND`")
    for u in users:
        brands = "all brands" if u["brands"] is None else ", ".join(u["brands"])
        print(f"{u['name']:<24} {u['role']:<20} {brands}"
              + (f"  <{u['email']}>" if u["email"] else "")
              + ("" if u["has_password"] else "  (OIDC only)"))
    return 0


def cmd_remove(args) -> int:
    engine = _engine()
    try:
        accounts.remove_user(engine, args.name, actor=audit.shell_actor(engine, args.actor),
                             reason=args.reason)
    finally:
        engine.dispose()
    print(f"user {args.name} removed")
    return 0


def cmd_sign_out(args) -> int:
    engine = _engine()
    try:
        ended = sessions.end_all(engine, args.name, actor=audit.shell_actor(engine, args.actor),
                                 reason=args.reason)
    finally:
        engine.dispose()
    print(f"{ended} session(s) of {args.name} ended; they sign in again at their next click")
    return 0


def cmd_passwd(args) -> int:
    engine = _engine()
    try:
        actor = audit.shell_actor(engine, args.actor)  # refused before a password is asked
        password = read_password(args.name, args.password_stdin)
        accounts.set_password(engine, args.name, password, actor=actor, reason=args.reason)
    finally:
        engine.dispose()
    print(f"password of {args.name} changed")
    return 0
