"""The SITREP as HTML: one body (used by the standalone document, its PDF and the web page)
rendered from `SitrepData` with the platform's server-side SVG charts and the map.

The standalone document carries its style inline and loads nothing (air-gapped): charts and
the map are inline SVG."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cmcc.command.sitrep import SitrepData
from cmcc.command.sitrep_map import situation_map
from cmcc.web import charts
from cmcc.web.words import incident_ref, label

env = Environment(
    loader=PackageLoader("cmcc.command", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.globals.update(label=label, incident_ref=incident_ref)


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The report's style (inline in the document, served to the web page as a file)."""
    return resources.files("cmcc.command").joinpath("templates/sitrep.css").read_text()


def usd(value: Decimal) -> str:
    return f"{value:,.2f}"


def _charts(data: SitrepData) -> dict[str, Markup]:
    inc = data.incidents
    force = data.force
    nations = list(force.by_nation)
    return {
        "incident_chart": charts.hbar(
            "sitrep-incidents",
            "Incidents by type",
            "Number of incidents of the period, by type.",
            [(label(k), v) for k, v in sorted(inc.by_type.items(), key=lambda kv: -kv[1])],
        ),
        "verification_chart": charts.hbar(
            "sitrep-verification",
            "Incidents by verification status",
            "Number of incidents of the period, by verification status.",
            [(label(k), v) for k, v in inc.by_status.items()],
            colour=charts.PALETTE[2],
        ),
        "strength_chart": charts.grouped_bars(
            "sitrep-strength",
            "Strength by nation",
            "Authorized, assigned and present strength of the units, by nation.",
            nations,
            [
                ("Authorized", [force.by_nation[n].authorized for n in nations]),
                ("Assigned", [force.by_nation[n].assigned for n in nations]),
                ("Present", [force.by_nation[n].present for n in nations]),
            ],
        ),
        "task_chart": charts.hbar(
            "sitrep-tasks",
            "Tasks by status",
            "Number of tasks of the period, by status.",
            [(label(k), v) for k, v in data.tasks.by_status.items()],
            colour=charts.PALETTE[1],
        ),
        "map": situation_map(inc.points, force.laydown),
    }


def body(data: SitrepData) -> Markup:
    """The report's content (headings, charts, map, tables), without page or style."""
    template = env.get_template("sitrep_body.html")
    return Markup(template.render(r=data, usd=usd, **_charts(data)))  # noqa: S704 - autoescaped


def document(data: SitrepData) -> str:
    """The standalone HTML document: style inline, nothing loaded from anywhere."""
    template = env.get_template("sitrep_document.html")
    return template.render(r=data, body=body(data), css=Markup(stylesheet()))  # noqa: S704
