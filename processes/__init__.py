"""Process plumbing shared by the signing and parsing pools: nothing about certificates."""
