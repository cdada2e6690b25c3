"""Write the claims ledger, docs/claims.md, from the claims (resnet_lab/course/claims.py) and the records.

    python tools/write_ledger.py

Run it after `benchmarks/seed_spread.py` records seeds or a claim changes; `tests/test_claims.py` fails
while the page is stale.
"""

from resnet_lab.course.claims import LEDGER, ledger

if __name__ == "__main__":
    LEDGER.write_text(ledger())
    print(f"wrote {LEDGER}")
