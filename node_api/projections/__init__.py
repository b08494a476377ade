"""Read models: what the node's routes answer from, folded from the indexed events.

Every projection is a pure function of the rows the indexer stores (`chain_events`, and
`report_entries`: the per-vehicle entries of accepted oracle reports, decoded from their
calldata because no event carries them). The indexer applies them in the same database
transaction that stores a block range's events and moves its cursor (`IndexStore`), so a
reader sees projections exactly as of the cursor, and a crash leaves both or neither.

How a reorg is undone, and why it is provably right. Two kinds of tables:

- Entity tables (vehicles with their liens, loans with their state changes, alerts,
  documents, members, proposals, parameters) are *refolded*: for every entity an event
  touches, its rows are deleted and recomputed from all of that entity's stored events, in
  chain order. Applying a range, rewinding above a fork and rebuilding from scratch all
  call the same fold on the same stored events, so they cannot disagree: after a rewind
  deleted the events above the fork, refolding the entities those events touched gives
  exactly what a rebuild would. No entity row records anything but its own events.
- Append-only tables (scores: one row per vehicle per accepted report) are per-event rows
  that carry their block: a rewind deletes the rows above the fork point, as it deletes the
  events. What a score row derives from other events (the alert threshold and the appraisal
  in force) comes only from events before it, which a rewind above it never removes.

A rebuild (`vcl node rebuild-projections`) clears every table and folds every stored event;
`tests/python/node_api/test_projections.py` holds incremental, reorged, killed and rebuilt
projections equal.
"""

from node_api.projections.projector import Projector, current_and_rebuilt, projection_snapshot

__all__ = ["Projector", "current_and_rebuilt", "projection_snapshot"]
