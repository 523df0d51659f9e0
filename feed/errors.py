"""Errors of the feed. Each carries a stable code, its HTTP status and zh/en messages."""

from __future__ import annotations

from errors import NotaryError


class FeedError(NotaryError):
    code = "FEED_ERROR"
    http_status = 400


class ReceiverNotFound(FeedError):
    code = "RECEIVER_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("no such receiver", "没有此接收方")


class BadReceiver(FeedError):
    code = "RECEIVER_INVALID"
    http_status = 422


class DeliveryNotFound(FeedError):
    code = "DELIVERY_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("no such delivery or event", "没有此推送记录")


class LinkInvalid(FeedError):
    """A download link that was not made by this service, or was changed."""

    code = "LINK_INVALID"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("this download link is not valid", "下载链接无效")


class LinkExpired(FeedError):
    code = "LINK_EXPIRED"
    http_status = 410

    def __init__(self) -> None:
        super().__init__("this download link has expired; ask for the certificate again",
                         "下载链接已过期，请重新获取公证书")


class NotSubscribable(FeedError):
    """A registry may subscribe only to certificates it has verified with its own key."""

    code = "NOT_VERIFIED_BY_YOU"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("you can subscribe only to certificates you have verified with this API key",
                         "只能订阅本密钥已核验过的公证书")
