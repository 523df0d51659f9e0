"""Errors of the staff console. Each carries a stable code (documented, never reworded),
its HTTP status and a message in English and in Chinese."""

from __future__ import annotations

from errors import NotaryError


class ConsoleError(NotaryError):
    code = "CONSOLE_ERROR"
    http_status = 400


# ------------------------------------------------------------------ staff accounts and sessions

class SignInFailed(ConsoleError):
    """Wrong user name, password or code: one answer for all three, so that a guesser
    learns nothing about which part was right."""

    code = "SIGNIN_FAILED"
    http_status = 401

    def __init__(self) -> None:
        super().__init__("the user name, password or verification code is wrong",
                         "用户名、密码或动态验证码不正确")


class AccountLocked(ConsoleError):
    code = "ACCOUNT_LOCKED"
    http_status = 429

    def __init__(self, minutes: int) -> None:
        super().__init__(f"too many failed sign-ins: this account is locked; try again in {minutes} minutes "
                         f"or ask your office administrator",
                         f"登录失败次数过多，账户已锁定，请{minutes}分钟后再试或联系公证处管理员")
        self.minutes = minutes

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.minutes * 60)}


class SessionExpired(ConsoleError):
    code = "SESSION_EXPIRED"
    http_status = 401

    def __init__(self) -> None:
        super().__init__("your session has ended; please sign in again", "登录已过期，请重新登录")


class CsrfRejected(ConsoleError):
    code = "CSRF_REJECTED"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("this form has expired or did not come from this console; reload the page and try again",
                         "表单已失效或来源不明，请刷新页面后重试")


class NotAllowed(ConsoleError):
    code = "CONSOLE_FORBIDDEN"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("your account may not open this page", "您的账户无权访问此页面")


class InvalidAccount(ConsoleError):
    """A staff account request that cannot be carried out (bad user name, weak password,
    a role without its office, a name already taken)."""

    code = "INVALID_ACCOUNT"
    http_status = 422


class AccountNotFound(ConsoleError):
    code = "ACCOUNT_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("no such staff account", "没有此工作人员账户")


class CodeAlreadyUsed(ConsoleError):
    code = "CODE_ALREADY_USED"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("this code has just been used: wait for the next one in your authenticator app",
                         "该动态码刚刚已使用，请等待身份验证器显示下一个动态码")


class ElevationRequired(ConsoleError):
    """A powerful action (accounts, credentials, the signing key) without a fresh TOTP code:
    the reader is sent to give one, then back to ``back``."""

    code = "CONFIRMATION_REQUIRED"
    http_status = 403

    def __init__(self, back: str) -> None:
        super().__init__("confirm with a new code from your authenticator app first", "请先输入身份验证器中的新动态码确认")
        self.back = back


class PasswordChangeRequired(ConsoleError):
    code = "PASSWORD_CHANGE_REQUIRED"
    http_status = 403

    def __init__(self) -> None:
        super().__init__("choose a new password before you go on", "请先设置新密码")


# ------------------------------------------------------------------ random inspection (双随机、一公开)

class InvalidDrawParameters(ConsoleError):
    """A draw asked with parameters it cannot have (sample size, period, office, matter)."""

    code = "INVALID_DRAW_PARAMETERS"
    http_status = 422


class EmptyPopulation(ConsoleError):
    """No certificate matches the draw's office, matter and period: there is nothing to draw from."""

    code = "DRAW_POPULATION_EMPTY"
    http_status = 422

    def __init__(self) -> None:
        super().__init__("no certificate matches this office, matter and period; nothing was drawn",
                         "没有符合该公证处、事项和期间的公证书，未进行抽取")


class DrawNotFound(ConsoleError):
    code = "DRAW_NOT_FOUND"
    http_status = 404

    def __init__(self) -> None:
        super().__init__("no inspection draw with this id", "没有此抽查记录")


class DrawNotDrawn(ConsoleError):
    """The draw is committed but its seed block is not on the ledger yet: no sample exists."""

    code = "DRAW_NOT_DRAWN"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("the draw is committed but its seed block is not on the ledger yet; complete it later",
                         "抽查已承诺上链，但用作随机种子的区块尚未产生，请稍后完成抽取")


class CertificateNotInDraw(ConsoleError):
    """A finding was given for a certificate the draw did not select."""

    code = "CERTIFICATE_NOT_IN_DRAW"
    http_status = 422

    def __init__(self) -> None:
        super().__init__("this certificate was not selected by the draw; findings are recorded only for the sample",
                         "该公证书不在本次抽查的样本中，只能对抽中的公证书记录检查结果")


class InvalidFinding(ConsoleError):
    """A finding with an unknown outcome or a note that cannot be kept as written."""

    code = "INVALID_FINDING"
    http_status = 422


class NotRegistryAdmin(ConsoleError):
    """Draws are committed from the registry administrator's account, which this service does not hold."""

    code = "NOT_REGISTRY_ADMINISTRATOR"
    http_status = 409

    def __init__(self) -> None:
        super().__init__("this service does not hold the registry administrator's key, whose account publishes "
                         "inspection draws on the ledger", "本服务未持有登记合约管理员密钥，无法在链上公开抽查承诺")


class NotAPublishedDraw(ConsoleError):
    """A document given as a published draw is not one (not JSON, a field missing or malformed)."""

    code = "NOT_A_PUBLISHED_DRAW"
    http_status = 422


class LedgerUnavailable(ConsoleError):
    """Draws need the registry administrator's account on the ledger, which this service
    does not hold (it is held where the justice bureau runs its own)."""

    code = "INSPECTION_LEDGER_UNAVAILABLE"
    http_status = 503

    def __init__(self) -> None:
        super().__init__("this service does not hold the registry administrator's key: draws are made where it is",
                         "本服务未持有监管账户密钥，无法在此进行随机抽查")


class InvalidForm(ConsoleError):
    """A form or query value the console cannot take (a NUL byte, a lifetime out of range,
    a name with characters that cannot be shown)."""

    code = "INVALID_FORM"
    http_status = 422
