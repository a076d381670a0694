"""Staff accounts, the customers' sign-in with the letter's code and key, and API tokens.

Passwords are hashed with argon2id; a sign-in with an unknown name costs the same as one
with a wrong password, so names cannot be probed by timing. Every sign-in, success or
failure, is in the audit chain (by account name or household reference, never the secret).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import limits
from casework.permissions import Actor, Principal, actor_of
from store import audit
from store.codes import canonical_code, check_login_key
from store.models import ApiToken, Household, Role, User, utcnow
from store.runtime import Store

_HASHER = PasswordHasher()  # argon2id, the library's current recommended parameters
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
MIN_PASSWORD = 12


class AccountError(ValueError):
    """A bad user name, password or role (the message says which)."""


class SignInFailed(PermissionError):
    """Wrong name, password, code or key: deliberately vague."""


@dataclass(frozen=True, slots=True)
class UserSummary:
    id: int
    username: str
    display_name: str
    role: Role
    active: bool


def add_user(store: Store, username: str, password: str, role: Role, *, actor: str,
             display_name: str = "") -> int:  # fmt: skip
    """Create a staff account (audited); AccountError for a taken or bad name, a weak password."""
    username = username.strip()
    if not username or len(username) > 64 or not username.isascii() or not username.isprintable():
        raise AccountError("a user name is 1-64 printable ASCII characters")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password has at least {MIN_PASSWORD} characters")
    with store.sessions.begin() as s:
        if s.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"a user named {username!r} exists")
        user = User(username=username, display_name=display_name or username, role=role,
                    password_hash=_HASHER.hash(password), active=True)  # fmt: skip
        s.add(user)
        s.flush()
        audit.record(s, actor, "user.added", object_type="user", object_id=user.id,
                     details={"username": username, "role": role.value})  # fmt: skip
        return user.id


DEMO_PREFIX = "demo-"


def active_demo_accounts(store: Store) -> list[str]:
    """Active accounts made by `leakwatch demo` (their passwords were printed)."""
    with store.sessions() as s:
        return list(
            s.scalars(
                select(User.username).where(User.username.startswith(DEMO_PREFIX), User.active)
            )
        )


def list_users(store: Store) -> list[UserSummary]:
    with store.sessions() as s:
        return [UserSummary(u.id, u.username, u.display_name, u.role, u.active)
                for u in s.scalars(select(User).order_by(User.username))]  # fmt: skip


class NoSuchUser(LookupError):
    """No account with that name or id."""


def disable_user(store: Store, user: str | int, *, actor: str) -> str:
    """Disable an account (by name or id) and end its sessions and tokens at once (audited);
    returns its name."""
    from store.models import WebSession

    with store.sessions.begin() as s:
        where = User.id == user if isinstance(user, int) else User.username == user
        account = s.scalars(select(User).where(where)).first()
        if account is None:
            raise NoSuchUser(f"no user {user!r}")
        account.active = False
        now = utcnow()
        for session in s.scalars(select(WebSession).where(WebSession.user_id == account.id)):
            session.ended_at = session.ended_at or now
        for token in s.scalars(select(ApiToken).where(ApiToken.user_id == account.id)):
            token.revoked_at = token.revoked_at or now
        audit.record(s, actor, "user.disabled", object_type="user", object_id=account.id,
                     details={"username": account.username})  # fmt: skip
        return account.username


def sign_in_staff(store: Store, username: str, password: str, address: str) -> Principal:
    """The staff principal, or SignInFailed / limits.Locked (both audited)."""
    account_key = f"user:{username.strip()[:64]}"
    addr = limits.address_key(store.vault.ring.current.mac_key, address)
    with store.sessions.begin() as s:
        limits.check(s, account_key)
        limits.check(s, addr)
        user = s.scalars(select(User).where(User.username == username.strip())).first()
        ok = _password_ok(user.password_hash if user else _DUMMY_HASH, password)
        if not ok or user is None or not user.active:
            # Committed with the failure: the count and the event must survive the refusal.
            _failed(s, account_key, limits.ACCOUNT, addr, "user.sign_in_failed", username)
            principal = None
        else:
            limits.clear(s, account_key)
            user.last_sign_in_at = utcnow()
            audit.record(s, f"user:{user.username}", "user.signed_in", object_type="user",
                         object_id=user.id)  # fmt: skip
            principal = Principal(actor_of(user.role), user_id=user.id, name=user.username)
    if principal is None:
        raise SignInFailed("wrong user name or password")
    return principal


def _password_ok(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _failed(s: Session, key: str, limit: limits.Limit, addr: str, action: str, who: str
            ) -> None:  # fmt: skip
    locked = limits.fail(s, key, limit)
    limits.fail(s, addr, limits.ADDRESS)
    audit.record(s, "anonymous", action, object_type=key.split(":", 1)[0],
                 object_id=who[:64], details={"locked": locked})  # fmt: skip


def sign_in_customer(store: Store, code: str, key: str, address: str) -> Principal:
    """The household of a letter's registration code and login key, or SignInFailed /
    limits.Locked. Attempts are limited per code (the key must withstand guessing)."""
    folded = canonical_code(code)[:20]
    code_key = f"code:{folded}"
    addr = limits.address_key(store.vault.ring.current.mac_key, address)
    with store.sessions.begin() as s:
        limits.check(s, code_key)
        limits.check(s, addr)
        household = s.scalars(select(Household).where(Household.registration_code == folded)
                              ).first()  # fmt: skip
        salt = household.login_key_salt if household else b"\0" * 16
        digest = household.login_key_hash if household else b"\0" * 32
        if not check_login_key(key, salt, digest) or household is None:
            _failed(s, code_key, limits.CODE, addr, "customer.sign_in_failed", folded)
            principal = None
        else:
            limits.clear(s, code_key)
            audit.record(s, f"customer:{household.household_ref}", "customer.signed_in",
                         object_type="household", object_id=household.id)  # fmt: skip
            principal = Principal(Actor.CUSTOMER, household_id=household.id,
                                  name=household.household_ref)  # fmt: skip
    if principal is None:
        raise SignInFailed("wrong registration code or login key")
    return principal


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_token(store: Store, principal: Principal, name: str) -> str:
    """A new API token for a staff user: shown once, only its hash is kept (audited)."""
    if not principal.is_staff or principal.user_id is None:
        raise AccountError("API tokens are for staff accounts")
    token = "lw_" + secrets.token_urlsafe(32)
    with store.sessions.begin() as s:
        row = ApiToken(user_id=principal.user_id, name=name[:100] or "token",
                       token_hash=token_hash(token))  # fmt: skip
        s.add(row)
        s.flush()
        audit.record(s, principal.audit_name, "token.created", object_type="api_token",
                     object_id=row.id)  # fmt: skip
    return token


def principal_of_token(store: Store, token: str) -> Principal | None:
    """The active staff user a bearer token belongs to, or None."""
    with store.sessions.begin() as s:
        row = s.scalars(select(ApiToken).where(ApiToken.token_hash == token_hash(token),
                                               ApiToken.revoked_at.is_(None))).first()  # fmt: skip
        user = s.get(User, row.user_id) if row is not None else None
        if row is None or user is None or not user.active:
            return None
        row.last_used_at = utcnow()
        return Principal(actor_of(user.role), user_id=user.id, name=user.username)
