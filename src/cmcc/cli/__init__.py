"""`cmcc`: the command line. Thin: every command calls a service through the platform."""

from __future__ import annotations

import typer

from cmcc.cli import (
    access,
    aidflow,
    audit,
    backup,
    cot,
    demo,
    exercise,
    forces,
    funding,
    funding_export,
    imports,
    index,
    orbat_exchange,
    report,
    scenario,
    server,
    tak,
    worker,
)

app = typer.Typer(
    name="cmcc",
    help="CMCC: coordination platform of the stabilization force and its coordination centre.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
server.register(app)
demo.register(app)
backup.register(app)
worker.register(app)
app.add_typer(exercise.app, name="exercise")
app.add_typer(scenario.app, name="scenario")
app.add_typer(access.user_app, name="user")
app.add_typer(access.token_app, name="token")
app.add_typer(audit.app, name="audit")
app.add_typer(forces.app, name="forces")
app.add_typer(imports.import_app, name="import")
funding_export.register(imports.export_app)
app.add_typer(imports.export_app, name="export")
app.add_typer(index.app, name="index")
app.add_typer(funding.app, name="funding")
app.add_typer(server.config_app, name="config")
app.add_typer(cot.app, name="cot")
app.add_typer(orbat_exchange.orbat_app, name="orbat")
app.add_typer(report.app, name="report")
app.add_typer(aidflow.app, name="aidflow")
# `cmcc tak ...`; other modules add theirs with register(tak.app) before this line
app.add_typer(tak.app, name="tak")


def main() -> None:
    app()
