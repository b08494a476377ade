"""The journal and the sizing rules, without a chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from oracle.errors import JournalError, TransmissionError
from oracle.journal import Journal, RoundStatus, RunStatus
from oracle.report_files import OracleReport
from oracle.scoring import VehicleScore
from oracle.signing import build_reports, input_key, report_entries
from oracle.transmission import RetryPolicy, batch_size_for
from vcl.config import DEV_PRIVATE_KEYS, DEV_VIN_SECRET

ORACLE = Account.from_key(DEV_PRIVATE_KEYS[8]).address


def reports(scores: list[VehicleScore], first_round: int = 1) -> list[OracleReport]:
    return build_reports(
        report_entries(scores, DEV_VIN_SECRET.encode()),
        first_round=first_round,
        model_version=scores[0].model_version,
        observed_at=1_767_225_600,
        batch_size=4,
        chain_id=1337,
        oracle=ORACLE,
    )


def test_a_run_is_journaled_whole_and_read_back_identical(
    tmp_path: Path, sample_scores: list[VehicleScore]
) -> None:
    planned = reports(sample_scores)
    with Journal(tmp_path / "j.sqlite") as journal:
        run_id = journal.plan_run("k", 5, [(r, [b"\x01" * 65]) for r in planned])
    with Journal(tmp_path / "j.sqlite") as journal:  # as a restarted process sees it
        rows = journal.unfinished_rounds(1337, ORACLE)
        assert [row.round_id for row in rows] == [1, 2]
        assert [row.report() for row in rows] == planned
        assert rows[0].signatures == (b"\x01" * 65,)
        assert journal.find_run(1337, ORACLE, "k") == journal.run(run_id)
        assert journal.run(run_id).status is RunStatus.PENDING
        assert journal.highest_round(1337, ORACLE) == 2
        # Overlapping rounds are refused, and nothing of the refused run remains.
        with pytest.raises(JournalError, match="overlap"):
            journal.plan_run("other", 5, [(planned[1], [])])
        assert len(journal.runs(1337, ORACLE)) == 1
        journal.mark_confirmed(rows[0], "0xaa", 7, 100, 0)
        journal.mark_rejected(rows[1], "reverted: OracleStaleRound(2, 2)")
        assert journal.run(run_id).status is RunStatus.FAILED
        assert [r.status for r in journal.rounds_of(run_id)] == [
            RoundStatus.CONFIRMED,
            RoundStatus.REJECTED,
        ]
        assert journal.find_run(1337, ORACLE, "k") is None  # a failed run may be planned again
        assert journal.highest_round(1337, ORACLE) == 1


def test_one_process_at_a_time(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite"), pytest.raises(JournalError, match="in use"):
        Journal(tmp_path / "j.sqlite").open()
    Journal(tmp_path / "j.sqlite").open()  # released with the first


def test_the_same_scores_have_the_same_key_whatever_the_rounds(
    sample_scores: list[VehicleScore],
) -> None:
    entries = report_entries(sample_scores, DEV_VIN_SECRET.encode())
    version = sample_scores[0].model_version
    assert input_key(version, 1, entries) == input_key(version, 1, list(entries))
    assert input_key(version, 1, entries) != input_key(version, 2, entries)
    assert input_key(version, 1, entries) != input_key(version, 1, entries[1:])


def test_batches_fit_the_block_the_transaction_cap_and_the_pool_size_limit() -> None:
    assert batch_size_for(30_000_000, block_fill=0.5, max_vehicles=10_000) == 264  # size limit
    assert batch_size_for(30_000_000, block_fill=0.5, max_vehicles=250) == 250
    # gas limit: (4,000,000 - 175,000 per report) // 40,000 per vehicle
    assert batch_size_for(8_000_000, block_fill=0.5, max_vehicles=250) == 95
    with pytest.raises(TransmissionError, match="no room"):
        batch_size_for(300_000, block_fill=0.5, max_vehicles=250)


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(attempts=6, backoff_s=0.5, backoff_max_s=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
