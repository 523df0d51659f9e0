"""What issuing and verifying share about certificates: the certificate tables, lookups by
number, id and fingerprint, the matters and their validation, numbers, access and check
codes, revocation reasons, and the hash-chained audit log."""
