"""Electronic evidence preservation (电子证据保全): a registered client submits a file, or only
its SHA-256; the office timestamps it on receipt and issues a preservation certificate (保全
证书), signed and anchored like every certificate. Files kept are sealed at rest, kept for
their retention period, and released only to the submitter or on a recorded order. An
evidence package (ASiC-E) gathers what a court needs to check it offline."""
