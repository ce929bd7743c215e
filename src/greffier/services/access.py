"""Who may reach what: groups, grants (read < write < manage, and deny), sensitivity routing.

The rules (docs/access.md):

- The owner of a collection or meeting has every right on it.
- Anyone else needs a grant of the level asked for — to them or to a group they are in
  (groups nest) — and no ``deny`` reaching them: a deny wins over every grant.
- Admins manage people, groups, keys, quotas and the audit log; they do not read content
  nobody granted them (docs/security.md says what stops them and what does not).
- A person who may not read a resource gets the same 404 as for one that does not exist.
- A share from someone else enters a person's *default* search scope (nothing named) only
  once they accept it, so nobody can push text into another person's answers; naming the
  collection or meeting works without accepting.
- Sharing with an unknown name gets one answer whatever the name, user or group.

Sensitivity routing: each collection and meeting has a level (public < internal <
sensitive < secret) and each model backend says where it runs. In-process backends take
any level; an on-premises server up to ``on_premises_max_sensitivity``; an external
service up to ``external_max_sensitivity``. The check is made before any text is sent.
"""

from __future__ import annotations

from greffier.errors import Conflict, InvalidRequest, NotFound, PermissionDenied
from greffier.services.audit import AuditService
from greffier.services.principal import Principal
from greffier.store.access import LEVELS
from greffier.store.interfaces import AccessStore, IdentityStore
from greffier.store.records import Grant, Group, ScopeEntry

SENSITIVITIES = ("public", "internal", "sensitive", "secret")
PERMISSIONS = (*LEVELS, "deny")
RESOURCES = ("collection", "meeting")


class SensitivityRefused(PermissionDenied):
    code = "sensitivity_not_allowed"


class AccessService:
    def __init__(
        self,
        store: AccessStore,
        identity: IdentityStore,
        audit: AuditService,
        on_premises_max: str = "sensitive",
        external_max: str = "public",
    ):
        self.store = store
        self.identity = identity
        self.audit = audit
        self.max_for_location = {
            "in-process": "secret",
            "on-premises": on_premises_max,
            "external": external_max,
        }

    # --- the rule ------------------------------------------------------------------------

    def collection_ids(
        self, who: Principal, level: str = "read", meetings: bool | None = False
    ) -> list[int]:
        return self.store.collection_ids(who.user_id, level, meetings)

    def meeting_ids(self, who: Principal, level: str = "read") -> list[int]:
        return self.store.meeting_ids(who.user_id, level)

    def in_group(self, who: Principal, name: str) -> bool:
        """Whether ``who`` is a member of the group ``name``, directly or through groups
        nested in it."""
        group = self.store.group_by_name(name)
        return group is not None and group.id in self.store.user_groups(who.user_id)

    def scope(
        self,
        who: Principal,
        collections: list[int] | None,
        meetings: list[int] | str | None,
        *,
        location: str | None = None,
        model: str = "",
    ) -> list[int]:
        """The collection ids a search or grounded answer may draw from.

        Nothing named: every readable collection and meeting. Named ids must all be
        readable, or the answer is the 404 a missing one gets. With ``location`` (where the
        answering model runs), named collections too sensitive for it are refused, and the
        default scope leaves them out."""
        readable = self.store.collection_ids(who.user_id, "read", None)
        info = self.store.scope_entries(readable)
        by_meeting = {e.meeting_id: cid for cid, e in info.items() if e.meeting_id is not None}
        documents = [cid for cid, e in info.items() if e.meeting_id is None]
        default = self._in_default_scope(who, info)
        if collections is None and meetings is None:
            chosen, named = [cid for cid in readable if cid in default], False
        else:
            chosen, named = [], True
            for cid in collections or []:
                if cid not in documents:
                    raise NotFound(f"No collection with id {cid}.", param="collections")
                chosen.append(cid)
            if meetings == "all":  # every meeting of one's own or accepted
                chosen += [cid for cid in by_meeting.values() if cid in default]
            else:
                for mid in meetings or []:
                    if mid not in by_meeting:
                        raise NotFound(f"No meeting with id {mid}.", param="meetings")
                    chosen.append(by_meeting[mid])
        chosen = list(dict.fromkeys(chosen))
        if location is None:
            return chosen
        allowed = self.allowed_levels(location)
        if named:
            for cid in chosen:
                entry = info[cid]
                what = (
                    f"Meeting {entry.meeting_id}"
                    if entry.meeting_id is not None
                    else f"Collection '{entry.name}'"
                )
                self.check_route(entry.sensitivity, location, what, model)
            return chosen
        return [cid for cid in chosen if info[cid].sensitivity in allowed]

    def _in_default_scope(self, who: Principal, info: dict[int, ScopeEntry]) -> set[int]:
        """Of these readable collections, those a search naming nothing may draw from: the
        person's own, and the shares they accepted."""
        accepted = {
            "collection": self.store.accepted(who.user_id, "collection"),
            "meeting": self.store.accepted(who.user_id, "meeting"),
        }
        return {
            cid
            for cid, e in info.items()
            if e.owner_id == who.user_id
            or (
                e.meeting_id in accepted["meeting"]
                if e.meeting_id is not None
                else cid in accepted["collection"]
            )
        }

    def accepted(self, who: Principal, resource_type: str) -> set[int]:
        """Ids of the shares of this type the person accepted into their default scope."""
        return self.store.accepted(who.user_id, resource_type)

    def accept(self, who: Principal, resource_type: str, resource_id: int) -> None:
        """Let a readable share into one's default search scope (404 unless readable)."""
        self.require(who, resource_type, resource_id, "read")
        self.store.accept(who.user_id, resource_type, resource_id)
        self.audit.record(
            who,
            "share.accept",
            resources=[{"type": resource_type, "id": resource_id, "name": None}],
        )

    def unaccept(self, who: Principal, resource_type: str, resource_id: int) -> None:
        """Take a share out of one's default scope again (it stays readable by name)."""
        self.require(who, resource_type, resource_id, "read")
        self.store.unaccept(who.user_id, resource_type, resource_id)
        self.audit.record(
            who,
            "share.unaccept",
            resources=[{"type": resource_type, "id": resource_id, "name": None}],
        )

    def can(self, who: Principal, resource_type: str, resource_id: int, level: str) -> bool:
        return self.store.can(who.user_id, resource_type, resource_id, level)

    def require(self, who: Principal, resource_type: str, resource_id: int, level: str) -> None:
        """404 when the person may not even read it (same words as for a missing one), 403
        when they may read it but not do this."""
        if not self.store.can(who.user_id, resource_type, resource_id, "read"):
            raise NotFound(
                f"No {resource_type} with id {resource_id}.", param=f"{resource_type}_id"
            )
        if level != "read" and not self.store.can(who.user_id, resource_type, resource_id, level):
            raise PermissionDenied(
                f"You may read this {resource_type} but not {_VERBS[level]} it: ask its owner "
                f"for '{level}'.",
                code="insufficient_permission",
            )

    # --- grants --------------------------------------------------------------------------

    def grants(self, who: Principal, resource_type: str, resource_id: int) -> list[Grant]:
        self.require(who, resource_type, resource_id, "manage")
        return self.store.grants(resource_type, resource_id)

    def grant(
        self,
        who: Principal,
        resource_type: str,
        resource_id: int,
        *,
        permission: str,
        user: str | None = None,
        group: str | None = None,
    ) -> Grant:
        """Give (or change) one subject's permission; ``deny`` shuts them out."""
        if permission not in PERMISSIONS:
            raise InvalidRequest(
                f"Unknown permission '{permission}': use one of {', '.join(PERMISSIONS)}.",
                param="permission",
            )
        self.require(who, resource_type, resource_id, "manage")
        try:
            subject_type, subject_id = self._share_subject(user, group)
        except NotFound:
            self.audit.record(
                who,
                "grant",
                status=404,
                query=f"{permission} to unknown {'user' if user is not None else 'group'} "
                f"'{user if user is not None else group}'",
                resources=[{"type": resource_type, "id": resource_id, "name": None}],
            )
            raise
        self.store.set_grant(
            resource_type, resource_id, subject_type, subject_id, permission, who.user_id
        )
        grant = next(
            g
            for g in self.store.grants(resource_type, resource_id)
            if (g.subject_type, g.subject_id) == (subject_type, subject_id)
        )
        self.audit.record(
            who,
            "grant",
            query=f"{permission} to {grant.subject_type} {grant.subject}",
            resources=[{"type": resource_type, "id": resource_id, "name": None}],
        )
        return grant

    def revoke(
        self,
        who: Principal,
        resource_type: str,
        resource_id: int,
        *,
        user: str | None = None,
        group: str | None = None,
    ) -> None:
        self.require(who, resource_type, resource_id, "manage")
        name = user if user is not None else group
        # One answer for a name that exists without a grant and for one that does not.
        missing = NotFound(
            f"No share to '{name}' on this {resource_type}.",
            param="user" if user is not None else "group",
            code="no_such_grant",
        )
        try:
            subject_type, subject_id = self._share_subject(user, group)
        except NotFound:
            raise missing from None
        if not self.store.remove_grant(resource_type, resource_id, subject_type, subject_id):
            raise missing
        self.audit.record(
            who,
            "revoke",
            query=f"user {user}" if user is not None else f"group {group}",
            resources=[{"type": resource_type, "id": resource_id, "name": None}],
        )

    def _share_subject(self, user: str | None, group: str | None) -> tuple[str, int]:
        """Whom a member shares with. An unknown name gets one message, the same for users
        and groups, so that sharing tells nothing about names beyond whether it succeeded
        (docs/security.md)."""
        if (user is None) == (group is None):
            raise InvalidRequest("Name either a user or a group.", param="user")
        try:
            return self._subject(user, group)
        except NotFound:
            name = user if user is not None else group
            raise NotFound(
                f"No user or group named '{name}' can receive a share.",
                param="user" if user is not None else "group",
                code="unknown_subject",
            ) from None

    def _subject(self, user: str | None, group: str | None) -> tuple[str, int]:
        if (user is None) == (group is None):
            raise InvalidRequest("Name either a user or a group.", param="user")
        if user is not None:
            record = self.identity.user_by_name(user)
            if record is None:
                raise NotFound(f"No user named '{user}'.", param="user", code="unknown_user")
            return "user", record.id
        row = self.store.group_by_name(group)
        if row is None:
            raise NotFound(f"No group named '{group}'.", param="group", code="unknown_group")
        return "group", row.id

    # --- groups (admins) -----------------------------------------------------------------

    def create_group(self, who: Principal, name: str, description: str = "") -> Group:
        _admin(who)
        name = name.strip()
        if not name or len(name) > 64:
            raise InvalidRequest("A group name has 1 to 64 characters.", param="name")
        if self.store.group_by_name(name):
            raise Conflict(f"A group named '{name}' exists already.", param="name")
        group_id = self.store.create_group(name, description)
        self.audit.record(who, "group.create", query=f"group {group_id}")
        return self.group(who, group_id)

    def group(self, who: Principal, group_id: int) -> Group:
        _admin(who)
        found = self.store.group(group_id)
        if found is None:
            raise NotFound(f"No group with id {group_id}.", param="group_id")
        return found

    def group_named(self, who: Principal, name: str) -> Group:
        _admin(who)
        found = self.store.group_by_name(name)
        if found is None:
            raise NotFound(f"No group named '{name}'.", param="group", code="unknown_group")
        return found

    def groups(self, who: Principal) -> list[Group]:
        _admin(who)
        return self.store.groups()

    def delete_group(self, who: Principal, group_id: int) -> None:
        self.group(who, group_id)
        self.store.delete_group(group_id)
        self.audit.record(who, "group.delete", query=f"group {group_id}")

    def add_member(
        self, who: Principal, group_id: int, *, user: str | None = None, group: str | None = None
    ) -> Group:
        self.group(who, group_id)
        kind, member = self._subject(user, group)
        if kind == "group" and self.store.contains_group(member, group_id):
            raise InvalidRequest(
                f"Group '{group}' already contains this group (or is it): adding it would "
                "make a cycle.",
                param="group",
                code="group_cycle",
            )
        if kind == "user":
            self.store.add_member(group_id, user_id=member)
        else:
            self.store.add_member(group_id, member_group_id=member)
        self.audit.record(who, "group.member.add", query=f"group {group_id}: {kind} {member}")
        return self.group(who, group_id)

    def remove_member(
        self, who: Principal, group_id: int, *, user: str | None = None, group: str | None = None
    ) -> Group:
        self.group(who, group_id)
        kind, member = self._subject(user, group)
        removed = (
            self.store.remove_member(group_id, user_id=member)
            if kind == "user"
            else self.store.remove_member(group_id, member_group_id=member)
        )
        if not removed:
            raise NotFound(f"That {kind} is not a direct member of this group.")
        self.audit.record(who, "group.member.remove", query=f"group {group_id}: {kind} {member}")
        return self.group(who, group_id)

    # --- sensitivity routing -------------------------------------------------------------

    def allowed_levels(self, location: str) -> tuple[str, ...]:
        top = SENSITIVITIES.index(self.max_for_location[location])
        return SENSITIVITIES[: top + 1]

    def check_route(self, sensitivity: str, location: str, what: str, model: str) -> None:
        """Refuse, before anything is sent, to pass ``sensitivity`` text to a backend
        running at ``location``."""
        if sensitivity not in self.allowed_levels(location):
            raise SensitivityRefused(
                f"{what} is '{sensitivity}'; model '{model}' runs on {_PLACES[location]}, "
                f"which may receive data up to '{self.max_for_location[location]}' only. "
                "Choose a model that runs in-process or on premises.",
            )


_VERBS = {"write": "change", "manage": "manage"}
_PLACES = {
    "in-process": "this server",
    "on-premises": "an on-premises server",
    "external": "an external service",
}


def _admin(who: Principal) -> None:
    if not who.is_admin:
        raise PermissionDenied("Managing groups is for admins.", code="admin_only")
