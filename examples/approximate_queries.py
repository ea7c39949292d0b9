"""Queries with guarantees over a cheap proxy and an expensive oracle (the paper, section 5).

A relation-extraction model (the proxy) scores 22,631 sentences of TACRED; a person (the
oracle) says whether a sentence really states the relation. Labels are expensive, so:

1. *Aggregation*: what share of sentences state the relation, within +-0.01 with
   probability 95%? assay's default against uniform sampling with the EBGStop rule (BlazeIt).
2. *Selection*: return sentences with precision >= 0.9 (probability 95%) from 1,000 labels.
3. *Labeling in rounds*: the same aggregation answered by people, 100 records at a time,
   with every answer kept in a workspace so an interrupted session resumes for free.

The oracle here is the dataset's label column (so the answers can be checked).

    python examples/approximate_queries.py

Needs ``../shared/data/proxy/supg/tacred.csv`` (or ``$ASSAY_SHARED_DATA/proxy/supg``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pandas as pd

from assay import Workspace
from assay.approx import aggregate, select


def shared_data() -> Path:
    repo = Path(__file__).resolve().parents[1]
    return Path(os.environ.get("ASSAY_SHARED_DATA", repo.parent / "shared" / "data"))


def main() -> None:
    path = shared_data() / "proxy" / "supg" / "tacred.csv"
    if not path.exists():
        sys.exit(f"needs the SUPG data in {path.parent}")
    records = pd.read_csv(path)
    truth = records["label"].mean()
    print(f"{len(records):,} sentences; true share stating the relation: {truth:.4f}\n")

    print("1. share of sentences stating the relation, +-0.01 at 95%")
    for method in ("assay", "uniform"):
        r = aggregate(records, oracle="column:label", proxy="proxy_score", error=0.01, range=(0, 1),
                      method=method, seed=0)
        print(f"   {method:8s} {r.estimate:.4f} in [{r.lower:.4f}, {r.upper:.4f}] "
              f"({r.guarantee.kind}), {r.oracle_calls:,} labels")

    print("\n2. sentences with precision >= 0.9 at 95%, 1,000 labels")
    s = select(records, proxy="proxy_score", oracle="column:label", target="precision", value=0.9,
               budget=1000, seed=0)
    hits = records.set_index("id").loc[s.ids, "label"]
    print(f"   returned {len(s):,} sentences ({s.guarantee.kind} guarantee); true precision "
          f"{hits.mean():.3f}, recall {hits.sum() / records['label'].sum():.3f}")

    print("\n3. the same aggregation labeled by people, 100 records per round")
    asked = []

    def person(rows: pd.DataFrame):
        asked.append(len(rows))  # a real oracle would show these sentences to a person
        return rows["label"].to_numpy()

    with Workspace() as ws:
        first = aggregate(records, oracle=person, proxy="proxy_score", error=0.01, range=(0, 1),
                          seed=1, workspace=ws, name="tacred", batch_size=100)
        again = aggregate(records, oracle=person, proxy="proxy_score", error=0.01, range=(0, 1),
                          seed=1, workspace=ws, name="tacred", batch_size=100)
    print(f"   {first.estimate:.4f} in [{first.lower:.4f}, {first.upper:.4f}] after {len(asked)} rounds "
          f"({first.oracle_calls:,} labels, anytime-valid: {first.guarantee.anytime}); "
          f"rerun paid for {again.labels_paid} more")


if __name__ == "__main__":
    main()
