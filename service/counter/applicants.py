"""Who applies (申請者): 続柄 to the householder, contact, an agent (代理人) acting for them,
and how the certificate reaches them (窓口交付 or 郵送交付).

Pure: values and rules, no I/O. An application keeps these as ``applicant_details`` in its
state. Towns' forms ask for the same: the applicant's 続柄 to the 世帯主, a phone number
that reaches them (often an evacuation centre's), and when someone else comes to the
counter, that agent's name, relation and contact, and whether a 委任状 (letter of
attorney) was presented. A relative of the same household needs none; anyone else does,
and a 法定代理人 (guardian) shows the papers that make them one, noted the same way.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from typing import Any

from service.errors import InvalidRequest

# 続柄 (relationship to the householder), as 住民票 words; the code is what is stored.
RELATIONSHIPS = {
    "householder": ("世帯主（本人）", "householder"), "spouse": ("配偶者", "spouse"), "child": ("子", "child"),
    "parent": ("父母", "parent"), "sibling": ("兄弟姉妹", "sibling"), "grandchild": ("孫", "grandchild"),
    "grandparent": ("祖父母", "grandparent"), "other_relative": ("その他の親族", "other relative"),
    "cohabitant": ("同居人", "cohabitant"), "other": ("その他", "other"),
}
# The agent's relation to the applicant. Only "household" (同一世帯の親族) needs no 委任状.
AGENT_RELATIONS = {
    "household": ("同一世帯の親族", "relative in the same household"),
    "relative": ("別世帯の親族", "relative in another household"),
    "legal": ("法定代理人", "legal representative"),
    "other": ("その他（知人など）", "other (acquaintance, helper)"),
}
DELIVERIES = {"counter": ("窓口交付", "at the counter"), "mail": ("郵送交付", "by post")}
_PHONE = re.compile(r"\+?[0-9]{10,15}")


@dataclasses.dataclass(frozen=True)
class Agent:
    """代理人: who came to the counter for the applicant."""

    name: str
    relation: str
    phone: str | None
    power_of_attorney: bool  # 委任状 (or a 法定代理人's papers) presented and kept

    def to_state(self) -> dict[str, Any]:
        """JSON form in the application's state."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ApplicantDetails:
    """The applicant's 続柄, contact, and agent (None: the applicant came in person)."""

    relationship: str | None
    phone: str | None = None
    contact_address: str | None = None  # where to reach them now (避難所, 親族宅), if not home
    agent: Agent | None = None
    delivery: str = "counter"  # 郵送交付 ("mail") goes to contact_address: 一括印刷 selects these

    def to_state(self) -> dict[str, Any]:
        """JSON form in the application's state."""
        return {"relationship": self.relationship, "phone": self.phone,
                "contact_address": self.contact_address,
                "agent": self.agent.to_state() if self.agent else None, "delivery": self.delivery}


def normalise_phone(raw: str, field: str) -> str:
    """Digits (full-width and hyphens folded, as typed at a counter), 10-15 of them."""
    folded = unicodedata.normalize("NFKC", raw).replace("-", "").replace(" ", "").replace("(", "").replace(")", "")
    if not _PHONE.fullmatch(folded):
        raise InvalidRequest.about(field, "電話番号は10〜15桁の数字です / a phone number of 10-15 digits",
                                   "applicant.phone")
    return folded


def check_agent(agent: Agent) -> None:
    """An agent from outside the household must have presented a 委任状 (422 otherwise)."""
    if agent.relation not in AGENT_RELATIONS:
        raise InvalidRequest.about("agent.relation", f"must be one of {', '.join(AGENT_RELATIONS)}",
                                   "invalid.choice")
    if agent.relation != "household" and not agent.power_of_attorney:
        raise InvalidRequest.about("agent.power_of_attorney",
                                   "同一世帯の親族以外の代理人は委任状が必要です / an agent from outside the "
                                   "household needs a letter of attorney (委任状)", "applicant.power_of_attorney")


def details_for(given: ApplicantDetails | None, *, is_householder: bool) -> ApplicantDetails:
    """The details to store: as given, with the 続柄 of a householder filled in (本人)."""
    details = given or ApplicantDetails(None)
    if details.relationship is None and is_householder:
        details = dataclasses.replace(details, relationship="householder")
    if details.relationship is not None and details.relationship not in RELATIONSHIPS:
        raise InvalidRequest.about("applicant.relationship", f"must be one of {', '.join(RELATIONSHIPS)}",
                                   "invalid.choice")
    if details.relationship == "householder" and not is_householder:
        raise InvalidRequest.about("applicant.relationship", "the applicant is not the householder (世帯主)",
                                   "applicant.not_householder")
    if details.agent is not None:
        check_agent(details.agent)
    if details.delivery not in DELIVERIES:
        raise InvalidRequest.about("applicant.delivery", f"must be one of {', '.join(DELIVERIES)}", "invalid.choice")
    if details.delivery == "mail" and not details.contact_address:
        raise InvalidRequest.about("applicant.contact_address", "郵送交付には送付先住所が必要です / "
                                   "delivery by post needs the address to post it to", "applicant.mail_address")
    return details
