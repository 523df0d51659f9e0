"""Ledger anchoring: Merkle trees and receipts, the chain client, the outbox batch worker.

Knows nothing about PDFs: it anchors (certificate id, document digest) pairs.
"""
