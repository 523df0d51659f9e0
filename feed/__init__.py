"""The push feed: an outbox of certificate events (issued, corrected, revoked; an office's
key rotated) written in the transaction that makes the change, fanned out to the receivers
configured per office (the one-stop government platform, 一网通办) and to registries
subscribed to a certificate, and delivered by signed webhooks (Standard Webhooks, see
webhooks/) at least once, in order per receiver and certificate."""
