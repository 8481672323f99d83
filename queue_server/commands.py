"""Administrative commands: init, import-config, serve, device keys, passwords.

Built on Flask's CLI so Flask-Migrate's ``antrian db ...`` commands come along.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from .app import create_app
from .config_import import ImportReport, import_config, load_toml
from .domain.errors import DomainError
from .extensions import db, socketio
from .models import Device, DeviceKind, User
from .security import hash_key, hash_password, new_key

DEMO_NOTE = "DEMO ONLY - refused when ANTRIAN_ENV=production"


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_version_option=False,
             add_default_commands=False)
def cli() -> None:
    """Antrian queue server administration."""


def _print_report(report: ImportReport) -> None:
    created = ", ".join(f"{n} {k}" for k, n in sorted(report.created.items())) or "nothing"
    updated = ", ".join(f"{n} {k}" for k, n in sorted(report.updated.items())) or "nothing"
    click.echo(f"Configuration imported: created {created}; updated {updated}.")


def _import(path: str) -> ImportReport:
    try:
        report = import_config(db.session, load_toml(path))
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    return report


def _print_demo(report: ImportReport) -> None:
    if not (report.demo_logins or report.demo_keys):
        return
    click.echo(f"\nDemo logins ({DEMO_NOTE}):")
    shown = [(u, p, r) for u, p, r in report.demo_logins if r != "officer"][:4]
    officers = [(u, p, r) for u, p, r in report.demo_logins if r == "officer"]
    for username, password, role in shown + officers[:3]:
        click.echo(f"  {role:8} {username:16} {password}")
    if len(officers) > 3:
        click.echo(f"  ... and {len(officers) - 3} more officers (see the config file)")
    click.echo(f"\nDemo device keys ({DEMO_NOTE}):")
    for code, key, kind in report.demo_keys:
        click.echo(f"  {kind:11} {code:18} {key}")


@cli.command("init")
@click.option("--config", "config_path", default=None, help="TOML configuration to import.")
@with_appcontext
def init_command(config_path: str | None) -> None:
    """Create or upgrade the database, then import the configuration (idempotent)."""
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    upgrade(directory=current_app.extensions["migrate"].directory)
    if config_path:
        report = _import(config_path)
        _print_report(report)
        if current_app.config["ANTRIAN_ENV"] == "production" and report.demo_logins:
            click.echo("Warning: this configuration holds plain-text passwords/keys; "
                       "in production they are refused. Set real ones with "
                       "'antrian set-password' and 'antrian device-key'.", err=True)


@cli.command("import-config")
@click.argument("path")
@with_appcontext
def import_command(path: str) -> None:
    """Import (or re-import) a TOML configuration; rows are matched by code."""
    _print_report(_import(path))


@cli.command("set-password")
@click.argument("username")
@click.password_option()
@with_appcontext
def set_password(username: str, password: str) -> None:
    """Set a person's password (clears the demo mark)."""
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {username}")
    if len(password) < 8:
        raise click.ClickException("a password needs at least 8 characters")
    user.password_hash = hash_password(password)
    user.demo_credential = False
    db.session.commit()
    click.echo(f"Password of {username} changed.")


@cli.command("device-key")
@click.argument("code")
@click.option("--kind", type=click.Choice([k.value for k in DeviceKind]), default=None,
              help="Create the device with this kind if it does not exist.")
@click.option("--name", default=None)
@with_appcontext
def device_key(code: str, kind: str | None, name: str | None) -> None:
    """Create a device or rotate its key; the new key is shown once."""
    key = new_key()
    device = db.session.execute(select(Device).where(Device.code == code)).scalar_one_or_none()
    if device is None:
        if kind is None:
            raise click.ClickException(f"no device {code}; give --kind to create it")
        device = Device(code=code, kind=kind, name=name or code, settings={})
        db.session.add(device)
    device.key_hash = hash_key(key)
    device.demo_credential = False
    db.session.commit()
    click.echo(f"Key of {code} (shown once, store it on the device):\n{key}")


@cli.command("rollup")
@click.option("--rebuild", is_flag=True,
              help="Forget the roll-up of every day first (e.g. after changing a target wait).")
@with_appcontext
def rollup_command(rebuild: bool) -> None:
    """Sum closed service days up for fast reports (reports also do it when first needed)."""
    from .domain import rollup
    from .domain.site import get_site, today

    session = db.session
    if rebuild:
        click.echo(f"Forgot the roll-up of {rollup.discard(session)} days.")
    clock = current_app.extensions["antrian_clock"]
    rolled, pending = rollup.ensure_all(session, today(session, clock), get_site(session).timezone,
                                        clock.now())
    click.echo(f"{rolled} closed service days are rolled up.")
    if pending:
        shown = ", ".join(day.isoformat() for day in pending[:5]) + (" ..." if len(pending) > 5 else "")
        click.echo(f"Not closed yet (tickets still open, expired at the next expiry run): {shown}")


@cli.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Copy the database while the server runs: to DEST, or a time-stamped file in directory DEST.

    SQLite: the online backup API (consistent, integrity-checked). PostgreSQL:
    pg_dump's custom format, restored with pg_restore (docs/deployment.md).
    """
    from .backup import BackupError, backup

    try:
        made = backup(current_app.config["SQLALCHEMY_DATABASE_URI"], dest)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    held = f", {made.tickets} ticket rows" if made.tickets is not None else ""
    click.echo(f"Backup written to {made.path} ({made.size} bytes{held}).")


def _print_urls(base: str, demo_keys: list[tuple[str, str, str]] | None = None) -> None:
    click.echo(f"\nAntrian is serving on {base}/")
    pages = [
        ("Home (links to every page)", "/"),
        ("Staff login", "/auth/login"),
        ("Health", "/api/v1/health"),
        ("Agencies (JSON)", "/api/v1/agencies"),
    ]
    # A device page is opened once with its key; show the demo kiosks ready to click.
    for code, key, kind in demo_keys or []:
        if kind == "kiosk":
            pages.append((f"Kiosk {code}", f"/kiosk/?key={key}"))
        elif kind == "display":
            pages.append((f"Display {code}", f"/display/{code}?key={key}"))
    for title, path in pages:
        click.echo(f"  {title:28} {base}{path}")


@cli.command("serve")
@click.option("--host", default=lambda: os.environ.get("HOST", "127.0.0.1"),
              show_default="$HOST or 127.0.0.1")
@click.option("--port", default=lambda: int(os.environ.get("PORT", "5000")), type=int,
              show_default="$PORT or 5000")
@click.option("--config", "config_path", default=None,
              help="Also list the demo logins and keys of this configuration.")
@with_appcontext
def serve(host: str, port: int, config_path: str | None) -> None:
    """Serve HTTP and Socket.IO (single process; see docs for gunicorn)."""
    app = current_app._get_current_object()
    if config_path and app.config["ANTRIAN_ENV"] != "production":
        from .config_import import ImportReport

        raw = load_toml(config_path)
        demo = ImportReport(
            demo_logins=[(u["username"], u["password"], u["role"]) for u in raw.get("users", [])
                         if "password" in u],
            demo_keys=[(d["code"], d["key"], d["kind"]) for d in raw.get("devices", [])
                       if "key" in d],
        )
        _print_demo(demo)
        demo_keys = demo.demo_keys
    else:
        demo_keys = []
    _print_urls(f"http://{host}:{port}", demo_keys)
    sys.stdout.flush()
    from .background import start_background_tasks

    start_background_tasks(app)
    from .heap import settle

    settle()
    # Flask's CLI sets FLASK_RUN_FROM_CLI, and then app.run() (which socketio.run
    # uses in threading mode) returns at once without serving.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, log_output=False)
