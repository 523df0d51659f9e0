"""The registry contract: Solidity source, its pinned build and the committed artifact."""

from .artifact import ContractArtifact, load_artifact

__all__ = ["ContractArtifact", "load_artifact"]
