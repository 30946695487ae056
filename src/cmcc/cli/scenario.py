"""`cmcc scenario load NAME|PATH`."""

from __future__ import annotations

import typer
from rich.progress import Progress

from cmcc.cli.common import console, operator_session, platform
from cmcc.core.db import refresh_statistics
from cmcc.initialize import initialize
from cmcc.scenarios.loader import FILES, load_scenario

app = typer.Typer(
    help="Load a scenario (a folder of TOML files with sources).", no_args_is_help=True
)


@app.command("load")
def load(name: str = typer.Argument(help="A packaged scenario (gaza-2025) or a folder")) -> None:
    """Load a scenario; loading it again changes nothing."""
    with platform() as p:
        initialize(p)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"loading {name}", total=len(FILES))

            def step(label: str) -> None:
                progress.update(task, advance=1, description=f"loading {label}")

            with operator_session(p, write=True, actor=f"scenario:{name}") as session:
                added = load_scenario(session, name, step, aoi=p.settings.aoi_bbox, fence=p.fence())
        if added:
            refresh_statistics(p.engine)
    if added:
        for kind, n in added.items():
            console.print(f"  {n:>5} {kind}")
    else:
        console.print(f"scenario {name} is loaded already: nothing changed")
