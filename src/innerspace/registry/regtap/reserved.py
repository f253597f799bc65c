"""ADQL's reserved words (ADQL 2.1 sect. 2.1.3: SQL-92's and ADQL's own). A column called
like one of them is written delimited ("size") wherever it is named to clients: in
TAP_SCHEMA.columns and in VOSI tables (TAP 1.1 sect. 4.3)."""

from __future__ import annotations

_SQL = """
absolute action add all allocate alter and any are as asc assertion at authorization avg
begin between bit bit_length both by cascade cascaded case cast catalog char character
character_length char_length check close coalesce collate collation column commit connect
connection constraint constraints continue convert corresponding count create cross
current current_date current_time current_timestamp current_user cursor date day
deallocate dec decimal declare default deferrable deferred delete desc describe descriptor
diagnostics disconnect distinct domain double drop else end end-exec escape except
exception exec execute exists external extract false fetch first float for foreign found
from full get global go goto grant group having hour identity immediate in indicator
initially inner input insensitive insert int integer intersect interval into is isolation
join key language last leading left level like local lower match max min minute module
month names national natural nchar next no not null nullif numeric octet_length of on only
open option or order outer output overlaps pad partial position precision prepare preserve
primary prior privileges procedure public read real references relative restrict revoke
right rollback rows schema scroll second section select session session_user set size
smallint some space sql sqlcode sqlerror sqlstate substring sum system_user table temporary
then time timestamp timezone_hour timezone_minute to trailing transaction translate
translation trim true union unique unknown update upper usage user using value values
varchar varying view when whenever where with work write year zone
"""
_ADQL = """
abs acos area asin atan atan2 bigint box ceiling centroid circle contains coord1 coord2
coordsys cos cot degrees distance exp floor ilike intersects in_unit log log10 mod pi point
polygon power radians region rand round sin sqrt tan top truncate
"""

RESERVED = frozenset((_SQL + _ADQL).split())


def adql_name(name: str) -> str:
    """`name` as ADQL writes it: delimited if it is a reserved word."""
    return f'"{name}"' if name.lower() in RESERVED else name
