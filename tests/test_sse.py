"""The SSE reader against httpx's own line splitting (no network needed)."""

from __future__ import annotations

import asyncio

import httpx

from autogen_hook.providers._sse import ServerSentEvent, iter_events


def events(raw: bytes) -> list[ServerSentEvent]:
    async def read() -> list[ServerSentEvent]:
        response = httpx.Response(200, content=raw)
        return [event async for event in iter_events(response.aiter_lines())]

    return asyncio.run(read())


def test_named_events_and_default_name() -> None:
    raw = b'event: message_start\ndata: {"a": 1}\n\ndata: plain\n\n'
    assert events(raw) == [("message_start", '{"a": 1}'), ("message", "plain")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert events(b"data: one\ndata: two\ndata:\n\n") == [("message", "one\ntwo\n")]


def test_comments_ids_and_retry_are_ignored() -> None:
    raw = b": keep-alive\nid: 7\nretry: 1000\ndata: x\n\n: another comment\n\n"
    assert events(raw) == [("message", "x")]


def test_crlf_and_cr_line_endings() -> None:
    raw = b"event: ping\r\ndata: a\r\n\r\nevent: delta\rdata: b\r\r"
    assert events(raw) == [("ping", "a"), ("delta", "b")]


def test_only_one_leading_space_is_stripped_and_colons_in_values_stay() -> None:
    assert events(b"data:x\n\ndata:  y: z\n\n") == [("message", "x"), ("message", " y: z")]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert events(b"\n\nevent: lonely\n\n\ndata: x\n\n") == [("message", "x")]


def test_an_event_cut_before_its_blank_line_is_discarded() -> None:
    assert events(b"data: whole\n\ndata: half") == [("message", "whole")]
