"""Small reads of the read models that several routes share."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from node_api.models import ProjectedLien, ProjectedParameter, ProjectedScore
from node_api.projections.loan_figures import LatestScore


def latest_score_row(session: Session, chain_id: int, vehicle_id: str) -> ProjectedScore | None:
    """The vehicle's newest indexed score: what `latestRoundData` answered at the index."""
    return session.scalars(
        select(ProjectedScore)
        .where(ProjectedScore.chain_id == chain_id, ProjectedScore.vehicle_id == vehicle_id)
        .order_by(ProjectedScore.block_number.desc(), ProjectedScore.log_index.desc())
        .limit(1)
    ).first()


def latest_score(session: Session, chain_id: int, vehicle_id: str) -> LatestScore | None:
    row = latest_score_row(session, chain_id, vehicle_id)
    if row is None:
        return None
    return LatestScore(row.score, int(row.estimated_value), row.observed_at)


def latest_lien(session: Session, chain_id: int, vehicle_id: str) -> ProjectedLien | None:
    """The vehicle's newest lien, in force or released (what `lienOf` answers)."""
    return session.scalars(
        select(ProjectedLien)
        .where(ProjectedLien.chain_id == chain_id, ProjectedLien.vehicle_id == vehicle_id)
        .order_by(ProjectedLien.placed_block.desc())
        .limit(1)
    ).first()


def parameters(session: Session, chain_id: int) -> dict[str, int]:
    """The governed parameters as indexed, by name (those whose name this node knows)."""
    rows = session.execute(
        select(ProjectedParameter.name, ProjectedParameter.value).where(
            ProjectedParameter.chain_id == chain_id, ProjectedParameter.name.is_not(None)
        )
    ).tuples()
    return {str(name): int(value) for name, value in rows}
