"""Core of the vehicle-collateral ledger, shared by the oracle and the node API.

Settings, the Web3 factory, contract artifacts, deployment records, the transaction
sender and custom-error decoding live here, once.
"""

__version__ = "0.1.0"
