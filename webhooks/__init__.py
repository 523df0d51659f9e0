"""Standard Webhooks (https://www.standardwebhooks.com): signing and checking messages with
HMAC-SHA256 and the ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers.
No database and no HTTP: the feed (feed/) sends, receivers and tests check."""
