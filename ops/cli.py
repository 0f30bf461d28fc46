"""``animerec`` (also ``python -m ops``): bring the stack up, down, and look at it."""
from __future__ import annotations

import sys
import time

import click

from config import load_settings
from jars import fetch
from ops import stack
from store import open_store


@click.group()
def main() -> None:
    """animerec: streaming recall-and-rank recommendations."""


@main.command("fetch-jars")
def fetch_jars() -> None:
    """Fetch the pinned service jars from Maven Central (cached, checksums verified)."""
    fetch.fetch_all(load_settings())


@main.command()
def migrate() -> None:
    """Create the keyspace and tables (idempotent)."""
    settings = load_settings()
    open_store(settings, retries=10, migrate=True).close()
    click.echo(f"schema of keyspace {settings.cassandra.keyspace} up to date")


@main.command()
@click.option("--skip-data", is_flag=True, help="Start services only; do not load data, build or train.")
def up(skip_data: bool) -> None:
    """Start the whole stack on the real data and serve the API."""
    settings = load_settings()
    started = time.monotonic()
    stack.start_infra(settings)
    if not skip_data:
        stack.prepare_data(settings)
    stack.start_apps(settings)
    url = settings.api_url
    click.echo(f"\nanimerec is up after {time.monotonic() - started:.0f}s at {url}  (API docs: {url}/openapi/swagger)\n"
               f"  curl -X POST {url}/clicks -H 'Content-Type: application/json' -d '{{\"user_id\":1,\"anime_id\":5114}}'\n"
               f"  curl {url}/recommends/1\n"
               f"Logs: make logs    Health: make status    Stop: make down")


@main.command()
def prepare() -> None:
    """Topics, schema, the data, the recall lists and a first ranker (no roles started): a one-shot setup."""
    settings = load_settings()
    stack.start_infra(settings)
    stack.prepare_data(settings)


@main.command()
def down() -> None:
    """Stop every process of the stack."""
    stack.stop_all(load_settings())
    click.echo("stopped")


@main.command()
def status() -> None:
    """Each service's state; exit 1 if any is not healthy."""
    unhealthy = 0
    for service in stack.all_services(load_settings()):
        state = service.status()
        unhealthy += state != "healthy"
        click.echo(f"{service.name:<10} {state:<20} pid={service.pid() or '-':<8} log={service.log_file}")
    sys.exit(1 if unhealthy else 0)


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
