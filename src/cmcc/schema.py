"""All tables of the platform, and the Alembic migrations that create them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

from cmcc.access import models as _access  # noqa: F401
from cmcc.audit import models as _audit  # noqa: F401
from cmcc.command import models as _command  # noqa: F401
from cmcc.core.db import Base
from cmcc.cot import devices as _cot_devices  # noqa: F401
from cmcc.cot import tracks as _cot_tracks  # noqa: F401
from cmcc.forces import models as _forces  # noqa: F401
from cmcc.funding import models as _funding  # noqa: F401
from cmcc.hazards import models as _hazards  # noqa: F401
from cmcc.humanitarian import models as _humanitarian  # noqa: F401
from cmcc.incidents import models as _incidents  # noqa: F401
from cmcc.remains import models as _remains  # noqa: F401
from cmcc.scenarios import models as _scenarios  # noqa: F401
from cmcc.tak import models as _tak  # noqa: F401
from cmcc.tips import models as _tips  # noqa: F401
from cmcc.zones import models as _zones  # noqa: F401

metadata: MetaData = Base.metadata
MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (idempotent)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (alembic check)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)
