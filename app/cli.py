"""`flask --app app keys …`: create, list and revoke API keys."""

from __future__ import annotations

import click
from flask import Flask

from app.gateway import gateway
from core.store.quotas import LIMITS


def register_cli(app: Flask) -> None:
    keys = click.Group("keys", help="Create, list and revoke API keys.")

    @keys.command("create")
    @click.argument("tenant")
    @click.option("--label", default="", help="A note to recognise the key by.")
    def create(tenant: str, label: str) -> None:
        """Create a key for TENANT and print it (it is shown only this once)."""
        key_id, key = gateway().keys.create(tenant, label)
        click.echo(f"key id {key_id} for tenant {tenant}:\n{key}")

    @keys.command("list")
    def list_keys() -> None:
        """List key ids and tenants (never the keys: only their hashes are stored)."""
        for record in gateway().keys.list():
            click.echo(f"{record['key_id']}\t{record['tenant']}\t{record['created']}\t"
                       f"{record['label']}")

    @keys.command("revoke")
    @click.argument("key_id")
    def revoke(key_id: str) -> None:
        """Revoke the key with KEY_ID."""
        keys = gateway().keys
        record = keys.record(key_id)
        if record is not None and keys.from_env(record):
            raise click.ClickException(
                f"key {key_id} comes from GATEWAY_API_KEYS: remove it from that variable and "
                "restart the API (it stops working then; revoking it here would be undone)")
        if not keys.revoke(key_id):
            raise click.ClickException(f"no key with id {key_id}")
        click.echo(f"revoked {key_id}")

    @keys.command("limits")
    @click.argument("tenant")
    @click.argument("settings", nargs=-1)
    def limits(tenant: str, settings: tuple[str, ...]) -> None:
        """Show TENANT's limits, or set some: NAME=VALUE (NAME=default drops an override).

        Names: """
        quotas = gateway().quotas
        for setting in settings:
            name, _, value = setting.partition("=")
            try:
                quotas.set(tenant, name, None if value == "default" else int(value))
            except ValueError as exc:
                raise click.ClickException(f"{setting}: {exc}") from None
        overrides = quotas.overrides(tenant)
        for name in LIMITS:
            click.echo(f"{name}\t{overrides.get(name, 'default')}")

    limits.help = (limits.help or "") + ", ".join(LIMITS) + "."
    app.cli.add_command(keys)
