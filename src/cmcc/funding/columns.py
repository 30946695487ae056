"""The exchange rate column: a Decimal with ten places, stored as a scaled BIGINT so that it is
exact on both backends (SQLite keeps NUMERIC as a float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from cmcc.funding.domain import RATE_PLACES

SCALE = Decimal(10) ** RATE_PLACES


class ExchangeRate(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        scaled = Decimal(value) * SCALE
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {RATE_PLACES} decimals")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / SCALE).quantize(Decimal(1).scaleb(-RATE_PLACES))
