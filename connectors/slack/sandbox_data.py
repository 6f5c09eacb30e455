"""Deterministic Slack data for the sandbox: a workspace with people, channels and threads.

The bot is a member of the public channels and of one private channel; one public channel
(``#watercooler``) never invited it, so reading it fails with ``not_in_channel``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox import shared_world

TEAM = "T0SANDBOX"
BOT_USER = "U0BOTHW01"
BASE_TS = 1_700_000_000
FIRST = ["ada", "grace", "alan", "barbara", "edsger", "frances", "ken", "radia", "linus", "margaret", "tim", "anita"]
WORDS = [
    "ship",
    "deploy",
    "review",
    "merge",
    "roadmap",
    "incident",
    "standup",
    "design",
    "metrics",
    "customer",
    "release",
    "sprint",
]


def ts_of(seconds: float, seq: int = 0) -> str:
    return f"{int(seconds)}.{seq % 1_000_000:06d}"


@dataclass
class ChannelData:
    info: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)  # top level and broadcast, oldest first
    replies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # thread ts -> replies, oldest first

    @property
    def id(self) -> str:
        return str(self.info["id"])

    def find(self, ts: str) -> dict[str, Any] | None:
        for m in self.messages:
            if m["ts"] == ts:
                return m
        for thread in self.replies.values():
            for m in thread:
                if m["ts"] == ts:
                    return m
        return None


@dataclass
class Workspace:
    users: list[dict[str, Any]]
    channels: list[ChannelData]
    planted: list[dict[str, str]] = field(default_factory=list)  # messages naming a Jira key

    def channel(self, ref: str) -> ChannelData | None:
        for c in self.channels:
            if ref in (c.id, c.info["name"]):
                return c
        return None

    def readable(self) -> list[ChannelData]:
        """Channels a full refresh reads with default options: public ones the bot is in."""
        return [c for c in self.channels if c.info["is_member"] and not c.info["is_private"]]


def user(i: int, rng: random.Random) -> dict[str, Any]:
    member = shared_world.member_for("slack", i)
    name = FIRST[i % len(FIRST)] + (str(i // len(FIRST)) if i >= len(FIRST) else "")
    email = f"{name}{i}@slack-only.example"
    if member is not None and member.slack is not None:
        name, email = member.slack
    uid = f"U{i + 1:08d}"
    return {
        "id": uid,
        "team_id": TEAM,
        "name": name,
        "deleted": i % 11 == 10,
        "real_name": name.title(),
        "tz": "Europe/Paris",
        "is_admin": i == 0,
        "is_owner": i == 0,
        "is_bot": False,
        "is_app_user": False,
        "is_restricted": False,
        "is_ultra_restricted": False,
        "updated": BASE_TS - 86400 * (30 - i % 30),
        "profile": {
            "real_name": name.title(),
            "display_name": name,
            "email": email,
            "title": rng.choice(["Engineer", "Designer", "PM", ""]),
            "team": TEAM,
        },
    }


def channel(
    cid: str, name: str, *, private: bool = False, member: bool = True, archived: bool = False
) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "name_normalized": name,
        "is_channel": not private,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": private,
        "is_archived": archived,
        "is_general": name == "general",
        "is_shared": False,
        "is_ext_shared": False,
        "is_org_shared": False,
        "is_member": member,
        "created": BASE_TS - 86400 * 100,
        "creator": "U00000001",
        "unlinked": 0,
        "topic": {"value": f"All about {name}", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
        "previous_names": [],
        "num_members": 5,
    }


def message(ts: str, author: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "ts": ts,
        "user": author,
        "text": text,
        "team": TEAM,
        "blocks": [
            {
                "type": "rich_text",
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ],
    }


def generate(
    seed: int = 7, *, users: int = 12, channels: int = 4, messages: int = 24, thread_every: int = 5
) -> Workspace:
    rng = random.Random(seed)
    people = [user(i, rng) for i in range(users)]
    people.append(
        {
            "id": BOT_USER,
            "team_id": TEAM,
            "name": "headwater",
            "deleted": False,
            "is_bot": True,
            "is_app_user": False,
            "updated": BASE_TS,
            "profile": {"real_name": "Headwater", "display_name": "", "bot_id": "B0BOTHW01", "team": TEAM},
        }
    )
    authors = [u["id"] for u in people if not u.get("deleted") and not u["is_bot"]]
    names = ["general", "random", "engineering", "design", "product", "support", "sales", "ops"]
    specs: list[tuple[str, dict[str, Any]]] = [
        (names[i % len(names)] + (str(i) if i >= len(names) else ""), {}) for i in range(channels)
    ]
    specs += [
        ("old-project", {"archived": True}),
        ("leads", {"private": True}),
        ("watercooler", {"member": False}),
    ]
    workspace = Workspace(users=people, channels=[])
    seq = 0
    for ci, (name, flags) in enumerate(specs):
        data = ChannelData(info=channel(f"C{seed:03d}{ci:05d}", name, **flags))
        clock = BASE_TS + ci * 7
        for mi in range(messages):
            clock += rng.randint(60, 3600)
            seq += 1
            text = f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{mi}"
            msg = message(ts_of(clock, seq), rng.choice(authors), text)
            if mi % 7 == 3:
                msg["edited"] = {"user": msg["user"], "ts": ts_of(clock + 120, seq)}
            if mi % 9 == 4:
                msg.pop("user")
                msg["subtype"] = "bot_message"
                msg["bot_id"] = "B0BOTHW01"
                msg["username"] = "deploy-bot"
            if thread_every and mi % thread_every == 1:
                thread = []
                reply_clock = clock
                for ri in range(rng.randint(1, 4)):
                    reply_clock += rng.randint(30, 900)
                    seq += 1
                    reply = message(ts_of(reply_clock, seq), rng.choice(authors), f"re: {text} ({ri + 1})")
                    reply["thread_ts"] = msg["ts"]
                    reply["parent_user_id"] = msg.get("user", BOT_USER)
                    thread.append(reply)
                set_thread(msg, thread)
                data.replies[msg["ts"]] = thread
            data.messages.append(msg)
        workspace.channels.append(data)
    readable = workspace.readable()
    if readable:
        plant(workspace, readable[0])
    return workspace


def plant(workspace: Workspace, data: ChannelData) -> None:
    """The shared plan's mentions in the first readable channel's top-level messages."""
    for index, text, key in shared_world.PLAN.slack_messages:
        if index < len(data.messages) and "user" in data.messages[index]:
            msg = data.messages[index]
            msg["text"] = text
            msg["blocks"] = message(msg["ts"], msg["user"], text)["blocks"]
            if key is not None:
                ref = {"kind": "message", "external_id": f"{data.id}:{msg['ts']}", "key": shared_world.jira_key(*key)}
                workspace.planted.append({**ref, "how": "mention"})


def roster_keys(workspace: Workspace) -> dict[str, str | None]:
    """Every human user id -> its shared-world roster key (None: an account no one else has)."""
    humans = [u for u in workspace.users if not u["is_bot"]]
    out: dict[str, str | None] = {}
    for i, u in enumerate(humans):
        member = shared_world.member_for("slack", i)
        out[str(u["id"])] = member.key if member else None
    return out


def set_thread(parent: dict[str, Any], thread: list[dict[str, Any]]) -> None:
    """Refresh a parent's thread summary from its replies."""
    parent["thread_ts"] = parent["ts"]
    parent["reply_count"] = len(thread)
    parent["reply_users"] = sorted({r.get("user", "") for r in thread if r.get("user")})
    parent["reply_users_count"] = len(parent["reply_users"])
    parent["latest_reply"] = thread[-1]["ts"] if thread else parent["ts"]
    parent["is_locked"] = False
    parent["subscribed"] = False
