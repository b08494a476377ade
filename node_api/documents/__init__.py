"""Document store: encrypted documents addressed by the CID Kubo computes for them.

`policy` decides what may be stored, `crypto` seals it with a fresh data key wrapped for
each reader's published key (`keys`, `readers`), and a `DocumentStore` backend (`embedded`
by default, `kubo` in production) keeps the envelope. The CID therefore names the
envelope; the salted hash anchored on-chain commits to the plaintext, and only a reader,
who finds the salt inside the envelope, can recompute it.
"""
