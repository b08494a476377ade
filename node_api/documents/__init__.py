"""Document store: encrypted documents addressed by the CID Kubo computes for them.

`policy` decides what may be stored, `crypto` seals it under the consortium document
key, and a `DocumentStore` backend (`embedded` by default, `kubo` in production) keeps
the ciphertext. The CID therefore names the ciphertext; the sha256 anchored on-chain
commits to the plaintext.
"""
