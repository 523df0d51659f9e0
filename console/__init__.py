"""The staff console: web sign-in for notaries, office administrators and regulators, the
office's pages (drafts, issuing, search, revocation, correction, administration) and the
regulator's (statistics, random inspection, forgery leads, audit trail)."""
