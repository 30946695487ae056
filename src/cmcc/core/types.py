"""Column types shared by the modules' tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

JSONDoc = JSON().with_variant(JSONB(), "postgresql")
CENT = Decimal("0.01")


class Money(TypeDecorator[Decimal]):
    """An amount with two decimals, stored as whole cents in a BIGINT: exact on both backends
    (SQLite would keep NUMERIC as a float), and sums in SQL stay exact."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        cents = (Decimal(value) / CENT).to_integral_value()
        if cents * CENT != Decimal(value):
            raise ValueError(f"{value} has more than two decimals")
        return int(cents)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) * CENT).quantize(CENT)
