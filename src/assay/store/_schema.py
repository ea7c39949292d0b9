"""The workspace's bookkeeping tables (schema ``_assay``), by format version, and migrations.

Format 1 (assay 0.1, until 2026-12): labels keyed by ``(oracle, id)``; tables and runs without
identities or lineage.

Format 2: every table has a ``uid`` (kept by appends, new when replaced), a ``revision``
(bumped by every append), the component that wrote it (``writer``) when assay's own
components own it, and for observations its per-stream summary (``stream_summary``, what
``Workspace.summary()`` gives, computed when rows are added: ``assay info`` reads it instead of
grouping every row); labels are keyed by ``(oracle, id, content)``, ``content`` the hash of the fields the
oracle saw (empty for answers shared by id alone); ``oracles`` records what each oracle
identity stands for; runs record their ``inputs`` and the ``versions`` of the software.
"""

from __future__ import annotations

import secrets
from typing import Any

META = "_assay"

#: The format this assay writes.
FORMAT_VERSION = 2

SCHEMA_SQL = f"""
CREATE SCHEMA IF NOT EXISTS {META};
CREATE TABLE IF NOT EXISTS {META}.meta (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS {META}.tables (
    name VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    rows BIGINT NOT NULL,
    columns VARCHAR NOT NULL,
    arrow_schema BLOB NOT NULL,
    attrs VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL,
    streams BIGINT,
    classes BIGINT,
    sources BIGINT,
    uid VARCHAR NOT NULL,
    revision BIGINT NOT NULL,
    modified TIMESTAMP NOT NULL,
    writer VARCHAR,
    stream_summary VARCHAR
);
CREATE TABLE IF NOT EXISTS {META}.labels (
    oracle VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    id_is_int BOOLEAN NOT NULL,
    content VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    time TIMESTAMP NOT NULL,
    run_id VARCHAR,
    PRIMARY KEY (oracle, id, content)
);
CREATE TABLE IF NOT EXISTS {META}.oracles (
    oracle VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    spec VARCHAR NOT NULL,
    detail VARCHAR NOT NULL,
    created TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS {META}.runs (
    run_id VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    started TIMESTAMP NOT NULL,
    finished TIMESTAMP,
    params VARCHAR NOT NULL,
    summary VARCHAR,
    inputs VARCHAR NOT NULL,
    versions VARCHAR NOT NULL
);
"""


def new_uid() -> str:
    """A fresh table uid: 16 hex digits."""
    return secrets.token_hex(8)


def migrate_1_to_2(con: Any) -> None:
    """Rewrite a format-1 workspace as format 2, inside the caller's transaction.

    Tables get a fresh uid each and revision 1. Labels keep their keys and values with an
    empty ``content``: format 1 did not record what an oracle saw, so they are answers shared
    by id alone, reused only by a query that names their key explicitly (``labels=``).
    Runs get empty inputs and versions (they were not recorded).
    """
    con.execute(f"ALTER TABLE {META}.tables RENAME TO tables_v1")
    con.execute(f"ALTER TABLE {META}.labels RENAME TO labels_v1")
    con.execute(f"ALTER TABLE {META}.runs RENAME TO runs_v1")
    con.execute(SCHEMA_SQL)
    names = [r[0] for r in con.execute(f"SELECT name FROM {META}.tables_v1").fetchall()]
    con.execute(
        f"INSERT INTO {META}.tables SELECT name, kind, rows, columns, arrow_schema, attrs, "
        f"created, streams, classes, sources, '' AS uid, 1 AS revision, created AS modified, "
        f"NULL AS writer, NULL AS stream_summary FROM {META}.tables_v1"
    )
    for name in names:
        con.execute(f"UPDATE {META}.tables SET uid = ? WHERE name = ?", [new_uid(), name])
    # findings tables and campaign state were written by assay's own runs
    con.execute(f"UPDATE {META}.tables SET writer = 'check' WHERE kind = 'findings'")
    con.execute(f"UPDATE {META}.tables SET writer = 'curate' WHERE name LIKE 'curate.%'")
    con.execute(
        f"INSERT INTO {META}.labels SELECT oracle, id, id_is_int, '' AS content, value, time, "
        f"run_id FROM {META}.labels_v1"
    )
    con.execute(
        f"INSERT INTO {META}.runs SELECT run_id, kind, status, started, finished, params, "
        f"summary, '[]' AS inputs, '{{}}' AS versions FROM {META}.runs_v1"
    )
    for old in ("tables_v1", "labels_v1", "runs_v1"):
        con.execute(f"DROP TABLE {META}.{old}")


#: Migrations by the version they start from.
MIGRATIONS = {1: migrate_1_to_2}
