"""Staff accounts: created, reset and disabled from the CLI or by an office administrator
for their office; signing in with password and TOTP, with lock-out after repeated failures.
Every change and every sign-in attempt is in the audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import uuid
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from issuer.auth import Principal, Role
from records import audit
from signing import text_safety
from storage.clock import utcnow
from storage.sessions import write_session
from verifier.ratelimit import FailureLimiter, RateLimited

from . import passwords, totp
from .errors import AccountLocked, AccountNotFound, CodeAlreadyUsed, InvalidAccount, SignInFailed
from .models import StaffSession, StaffUser

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MAX_FAILURES = 5
LOCK_MINUTES = 15


@dataclass(frozen=True)
class NewCredentials:
    """What a new or reset account's holder is told once: never stored in the clear."""

    user: StaffUser
    password: str
    totp_secret: str
    totp_uri: str


def principal_of(user: StaffUser) -> Principal:
    """The user as the issuer's rules see them: the same roles, office and ownership as an
    API token of the same person."""
    return Principal(user.id, user.name, Role(user.role), user.office_code, user.holder_id)


def _clean_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidAccount("a user name has 3 to 64 characters: lower-case letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit",
                             "用户名为3至64个字符：小写字母、数字、“.”“_”“-”，以字母或数字开头")
    return name


def _clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 40:
        raise InvalidAccount("the name has 1 to 40 characters", "姓名为1至40个字符")
    found = text_safety.problems(name)
    if found:
        en, zh = text_safety.describe(found)
        raise InvalidAccount(f"name: {en}", f"姓名{zh}")
    return name


def create_user(engine: Engine, sealing_key: bytes, username: str, name: str, role: Role, office_code: str | None,
                *, actor: str, password: str | None = None, holder: uuid.UUID | None = None) -> NewCredentials:
    """A new account with a TOTP secret and a password (a temporary one, to be changed at the
    first sign-in, when none is given). ``holder``: the person's id from their API token, so
    that what they issue either way is theirs."""
    username = _clean_username(username)
    name = _clean_name(name)
    if role != Role.REGISTRY_ADMIN and not office_code:
        raise InvalidAccount("notaries and office administrators belong to an office", "公证员和公证处管理员须属于某一公证处")
    office = office_code if role != Role.REGISTRY_ADMIN else None
    chosen = password is not None
    password = password if password is not None else passwords.temporary_password(username)
    passwords.check_new_password(password, username)
    secret = totp.new_secret()
    user = StaffUser(username=username, name=name, role=role.value, office_code=office,
                     password_hash=passwords.hash_password(password), totp_sealed="",
                     must_change_password=not chosen, holder_id=holder or uuid.uuid4())
    user.totp_sealed = totp.seal(sealing_key, secret, str(user.id))
    with write_session(engine) as s:
        s.expire_on_commit = False
        if s.exec(select(StaffUser.id).where(StaffUser.username == username)).first() is not None:
            raise InvalidAccount(f"the user name {username} is taken", f"用户名{username}已被使用")
        s.add(user)
        s.flush()
        audit.append(s, actor, "staff.create", str(user.id), {"username": username, "name": name, "role": role.value,
                                                               "office": office}, office=office)
        s.commit()
    return NewCredentials(user, password, secret, totp.provisioning_uri(secret, username))


def find_user(engine: Engine, ref: str) -> StaffUser:
    """The account with user name or id ``ref``."""
    with Session(engine, expire_on_commit=False) as s:
        user = _find(s, ref)
    if user is None:
        raise AccountNotFound()
    return user


def _find(s: Session, ref: str, *, for_update: bool = False) -> StaffUser | None:
    try:
        query = select(StaffUser).where(StaffUser.id == uuid.UUID(ref))
    except ValueError:
        query = select(StaffUser).where(StaffUser.username == ref.strip().lower())
    return s.exec(query.with_for_update() if for_update else query).first()


def list_users(engine: Engine, office_code: str | None = None) -> list[StaffUser]:
    """Every account, or one office's."""
    query = select(StaffUser).order_by(col(StaffUser.office_code), col(StaffUser.username))
    if office_code is not None:
        query = query.where(StaffUser.office_code == office_code)
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(query))


def reset_user(engine: Engine, sealing_key: bytes, ref: str, *, actor: str, office_code: str | None = None,
               new_totp: bool = True, password: str | None = None) -> NewCredentials:
    """A new temporary password (and TOTP secret), the lock lifted and every session ended.
    ``office_code``: the administrator's office; another office's account is not found.
    ``password``: a password chosen by the caller (the demo), not to be changed at sign-in."""
    chosen = password is not None
    with Session(engine) as s:
        found = _find(s, ref)
        if found is None or (office_code is not None and found.office_code != office_code):
            raise AccountNotFound()
        username = found.username
    password = password if password is not None else passwords.temporary_password(username)
    passwords.check_new_password(password, username)
    hashed = passwords.hash_password(password)  # ~0.1 s of work: before the write transaction, not in it
    secret = totp.new_secret()
    with write_session(engine) as s:
        s.expire_on_commit = False
        user = _find(s, ref, for_update=True)
        if user is None or (office_code is not None and user.office_code != office_code):
            raise AccountNotFound()
        user.password_hash = hashed
        user.must_change_password = not chosen
        user.failed_signins, user.locked_until, user.disabled_at = 0, None, None
        user.password_changed_at = utcnow()
        if new_totp:
            user.totp_sealed, user.totp_last_step = totp.seal(sealing_key, secret, str(user.id)), 0
        s.add(user)
        _end_sessions(s, user.id)
        audit.append(s, actor, "staff.reset", str(user.id), {"username": user.username, "new_totp": new_totp},
                     office=user.office_code)
        s.commit()
    if not new_totp:
        secret = totp.unseal(sealing_key, user.totp_sealed, str(user.id))
    return NewCredentials(user, password, secret, totp.provisioning_uri(secret, user.username))


def set_disabled(engine: Engine, ref: str, disabled: bool, *, actor: str, office_code: str | None = None) -> StaffUser:
    """Disable (every session ends at once) or enable an account."""
    with write_session(engine) as s:
        s.expire_on_commit = False
        user = _find(s, ref, for_update=True)
        if user is None or (office_code is not None and user.office_code != office_code):
            raise AccountNotFound()
        user.disabled_at = utcnow() if disabled else None
        if not disabled:
            user.failed_signins, user.locked_until = 0, None
        s.add(user)
        if disabled:
            _end_sessions(s, user.id)
        audit.append(s, actor, "staff.disable" if disabled else "staff.enable", str(user.id),
                     {"username": user.username}, office=user.office_code)
        s.commit()
    return user


def change_password(engine: Engine, user_id: uuid.UUID, current: str, new: str, *, keep_session: str | None) -> None:
    """The user's own change: the current password first; every other session ends."""
    with Session(engine) as s:
        found = s.get(StaffUser, user_id)
        if found is None:
            raise AccountNotFound()
        stored, username = found.password_hash, found.username
    # The argon2 work (~0.3 s) is done before the write transaction, which would hold every
    # other writer of a SQLite database meanwhile.
    if not passwords.password_matches(stored, current):
        raise InvalidAccount("the current password is wrong", "当前密码不正确")
    passwords.check_new_password(new, username)
    if passwords.password_matches(stored, new):
        raise InvalidAccount("choose a password different from the current one", "新密码不能与当前密码相同")
    hashed = passwords.hash_password(new)
    with write_session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.id == user_id).with_for_update()).first()
        if user is None:
            raise AccountNotFound()
        if user.password_hash != stored:  # changed or reset by someone else meanwhile
            raise InvalidAccount("the password was changed meanwhile; sign in again", "密码已被更改，请重新登录")
        user.password_hash, user.must_change_password, user.password_changed_at = hashed, False, utcnow()
        s.add(user)
        _end_sessions(s, user.id, keep=keep_session)
        audit.append(s, f"{user.role}:{user.name}", "staff.password", str(user.id), {"username": user.username},
                     office=user.office_code)
        s.commit()


def _end_sessions(s: Session, user_id: uuid.UUID, keep: str | None = None) -> None:
    for row in s.exec(select(StaffSession).where(StaffSession.user_id == user_id)):
        if row.token_hash != keep:
            s.delete(row)


def sign_in(engine: Engine, sealing_key: bytes, username: str, password: str, code: str, *,
            client: str, now: dt.datetime | None = None, unknown_names: FailureLimiter | None = None) -> StaffUser:
    """The account if user name, password and TOTP code are right, it is enabled and not
    locked; SignInFailed (the same answer whichever part was wrong) or AccountLocked
    otherwise. Each outcome is audited; the fifth failure in a row locks the account for
    fifteen minutes. A name no account has "locks" the same way (``unknown_names`` counts
    its failures), so the lock-out does not tell which names exist."""
    now = now or utcnow()
    name = username.strip().lower()[:64]
    with Session(engine) as s:
        user = _find(s, name) if USERNAME.match(name) else None
        stored = user.password_hash if user is not None else None
    password_ok = passwords.password_matches(stored, password)  # outside any transaction: ~50 ms of work
    with write_session(engine) as s:
        s.expire_on_commit = False
        user = _find(s, name, for_update=True) if user is not None else None
        if user is None:
            # What was typed is not kept (it may be a password typed in the wrong box): a keyed
            # hash (not reversible by a dictionary without the installation's secret) lets the
            # same wrong name be recognised.
            typed = hmac.new(sealing_key, b"typed user name\x00" + name.encode(), hashlib.sha256).hexdigest()[:16]
            locked = _count_unknown(unknown_names, name)
            audit.append(s, "anonymous", "staff.signin_locked" if locked else "staff.signin_failed", "unknown",
                         {"username_sha256": typed, "client": client})
            s.commit()
            if locked:
                raise AccountLocked(locked)
            raise SignInFailed()
        actor = f"{user.role}:{user.name}"
        if user.locked_until is not None and user.locked_until > now:
            audit.append(s, actor, "staff.signin_locked", str(user.id), {"client": client}, office=user.office_code)
            s.commit()
            raise AccountLocked(max(1, int((user.locked_until - now).total_seconds() // 60) + 1))
        step = None
        if password_ok and user.disabled_at is None:
            step = totp.accepted_step(totp.unseal(sealing_key, user.totp_sealed, str(user.id)), code,
                                      user.totp_last_step, now.timestamp())
        if step is None:
            user.failed_signins += 1
            locked = user.failed_signins >= MAX_FAILURES
            if locked:
                user.locked_until, user.failed_signins = now + dt.timedelta(minutes=LOCK_MINUTES), 0
            s.add(user)
            audit.append(s, actor, "staff.signin_failed", str(user.id), {
                "client": client, "disabled": user.disabled_at is not None, "locked": locked}, office=user.office_code)
            s.commit()
            if locked:
                raise AccountLocked(LOCK_MINUTES)
            raise SignInFailed()
        user.totp_last_step, user.failed_signins, user.locked_until, user.last_signin_at = step, 0, None, now
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        s.add(user)
        audit.append(s, actor, "staff.signin", str(user.id), {"client": client}, office=user.office_code)
        s.commit()
    return user


def confirm_code(engine: Engine, sealing_key: bytes, user_id: uuid.UUID, code: str, *, client: str,
                 now: dt.datetime | None = None) -> None:
    """A signed-in person's fresh TOTP code, before a powerful action. A wrong code counts
    as a failed sign-in: the fifth in a row locks the account and ends its sessions (a
    session in other hands cannot guess the second factor)."""
    now = now or utcnow()
    with write_session(engine) as s:
        user = s.exec(select(StaffUser).where(StaffUser.id == user_id).with_for_update()).first()
        if user is None:
            raise AccountNotFound()
        actor = f"{user.role}:{user.name}"
        secret = totp.unseal(sealing_key, user.totp_sealed, str(user.id))
        step = totp.accepted_step(secret, code, user.totp_last_step, now.timestamp())
        if step is None and totp.is_step_code(secret, code, user.totp_last_step):
            raise CodeAlreadyUsed()  # the code just signed in with: the person waits for the next, no guess
        if step is None:
            user.failed_signins += 1
            locked = user.failed_signins >= MAX_FAILURES
            if locked:
                user.locked_until, user.failed_signins = now + dt.timedelta(minutes=LOCK_MINUTES), 0
                _end_sessions(s, user.id)
            s.add(user)
            audit.append(s, actor, "staff.confirm_failed", str(user.id), {"client": client, "locked": locked},
                         office=user.office_code)
            s.commit()
            if locked:
                raise AccountLocked(LOCK_MINUTES)
            raise SignInFailed()
        user.totp_last_step, user.failed_signins = step, 0
        s.add(user)
        audit.append(s, actor, "staff.confirm", str(user.id), {"client": client}, office=user.office_code)
        s.commit()


def _count_unknown(limiter: FailureLimiter | None, name: str) -> int:
    """Count a failure for a name no account has; the minutes it is "locked" for once it has
    failed as often as an account may (0: not locked)."""
    if limiter is None:
        return 0
    limiter.fail("unknown:" + name)
    try:
        limiter.check("unknown:" + name)
    except RateLimited as exc:
        return min(LOCK_MINUTES, max(1, math.ceil(exc.retry_after / 60)))
    return 0
