"""The Redis channel layer of settings (config/settings.py `redis_channel_layer`, apps/common/channel_layer.py).

channels_redis' stock layer got from redis-py what ours does itself, so each of those is checked here
through the layer's public interface (send, group_send, receive): the URL's database number (the prefix,
and layers on another database hear nothing), a password, rediss:// with the server's certificate checked,
and reconnecting after Redis closed the layer's connections or restarted; besides channels and groups
across processes and messages larger than one read.

Each test runs against a Redis server of its own (redis-server on a free port, its files in a temporary
folder), so killing connections or restarting Redis touches no other test run on the machine. Needs
redis-server (built with TLS for the rediss:// test): skipped without it, except on CI (CI=true).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
import redis.asyncio
from django.utils.module_loading import import_string

from apps.common.channel_layer import RedisReplyError, command_bytes
from config.settings import redis_channel_layer
from tests.conftest import service_missing
from tests.live_servers import Unavailable, free_port

# How long a condition the tests wait for may take before the test fails: a deadline, not a measurement.
DEADLINE_SECONDS = 10.0
PASSWORD = "s3cret:with/odd@chars"


# Redis servers of the tests' own ------------------------------------------------------------------------


class RedisServerExited(RuntimeError):
    """redis-server stopped as it started; its output says why."""


@dataclass
class RedisServer:
    """A redis-server on 127.0.0.1:`port` (plain, or TLS only), and how to reach it with redis-py."""

    folder: Path
    port: int
    options: tuple[str, ...]
    client_options: dict[str, Any] = field(default_factory=dict)
    scheme: str = "redis"
    process: subprocess.Popen[bytes] | None = None

    def url(self, database: int, *, password: str | None = None, query: str = "") -> str:
        auth = f":{quote(password, safe='')}@" if password is not None else ""
        return f"{self.scheme}://{auth}127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    def admin(self) -> redis.asyncio.Redis:
        return redis.asyncio.Redis(host="127.0.0.1", port=self.port, **self.client_options)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing(Unavailable("redis-server is not on PATH"), "redis-server")
        log = self.folder / f"redis-{self.port}.log"
        port_options = ("--port", str(self.port)) if self.scheme == "redis" else ()
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(self.folder)]
                + [*port_options, *self.options],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, **self.client_options)
        deadline = time.monotonic() + DEADLINE_SECONDS
        try:
            while True:
                with contextlib.suppress(redis.ConnectionError, redis.AuthenticationError):
                    client.ping()
                    return
                if self.process.poll() is not None:
                    raise RedisServerExited(log.read_text(errors="replace")[-2000:])
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server on port {self.port} did not answer in time")
                time.sleep(0.02)  # polling the port until it answers, within the deadline
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=DEADLINE_SECONDS)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, free_port(), ())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def protected_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path, free_port(), ("--requirepass", PASSWORD), {"password": PASSWORD})
    server.start()
    yield server
    server.stop()


def certificate_authority(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway certificate authority and a certificate it signed for 127.0.0.1 and localhost:
    (the authority's certificate, the server's certificate, the server's key), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "polylog test authority")])
    ca_id = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())

    def valid(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
        return (
            builder.serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    ca = (
        valid(x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name))
        .public_key(ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_id, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    names = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    server = (
        valid(x509.CertificateBuilder())
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_id), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[RedisServer, Path]]:
    """A redis-server that speaks TLS only (no plain port), and its certificate authority's PEM file."""
    authority, certificate, key = certificate_authority(tmp_path)
    tls = (
        "--tls-cert-file",
        str(certificate),
        "--tls-key-file",
        str(key),
        "--tls-ca-cert-file",
        str(authority),
    )
    port = free_port()
    server = RedisServer(
        tmp_path,
        port,
        ("--port", "0", "--tls-port", str(port), *tls, "--tls-auth-clients", "no"),
        {"ssl": True, "ssl_ca_certs": str(authority)},
        scheme="rediss",
    )
    try:
        server.start()
    except RedisServerExited as exc:
        if "Bad directive" not in str(exc) or "tls" not in str(exc):
            raise
        # A redis-server built without TLS knows none of the tls-* options.
        service_missing(exc, "a redis-server built with TLS")
    yield server, authority
    server.stop()


# The layer and what Redis says of it ---------------------------------------------------------------------


def layer_on(url: str) -> Any:
    """The channel layer settings make of REDIS_URL `url`, as a server process holds it."""
    spec = redis_channel_layer(url)
    return import_string(spec["BACKEND"])(**spec["CONFIG"])


def group_channel(url: str, group: str) -> str:
    """The Redis publish/subscribe channel that carries `group`'s messages (as channels_redis names it)."""
    return f"{redis_channel_layer(url)['CONFIG']['prefix']}__group__{group}"


async def until_subscribed(
    server: RedisServer, expected: dict[str, int], *, not_by: frozenset[int] = frozenset()
) -> None:
    """Wait until Redis counts `expected` subscribers on each channel (subscribing is asynchronous: a
    layer sends SUBSCRIBE and goes on), none of them on the connections `not_by` (ids of connections
    Redis closed); or fail once the deadline passes."""
    client = server.admin()
    counts: dict[str, int] = {}
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            while True:
                counts = {name.decode(): n for name, n in await client.pubsub_numsub(*expected)}
                if counts == expected and not (not_by & await subscriber_ids(client)):
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"Redis has {counts} subscribers, not {expected}, after {DEADLINE_SECONDS} s")
    finally:
        await client.aclose()


async def subscriber_ids(client: redis.asyncio.Redis) -> set[int]:
    return {int(c["id"]) for c in await client.client_list(_type="pubsub")}


class Inbox:
    """What a channel of a layer receives, read as a consumer reads it: one receive after another, never
    cancelled before the end (channels_redis takes a cancelled receive for a consumer leaving, and
    unsubscribes its channel)."""

    def __init__(self, layer: Any, channel: str) -> None:
        self.layer, self.channel = layer, channel
        self.messages: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            self.messages.append(await self.layer.receive(self.channel))
            self.arrived.set()

    async def holding(self, count: int, seconds: float = DEADLINE_SECONDS) -> list[dict[str, Any]]:
        """The messages, once there are `count`; TimeoutError after `seconds`."""
        async with asyncio.timeout(seconds):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.messages

    async def after(self, marker: dict[str, Any]) -> list[dict[str, Any]]:
        """What arrived up to `marker`, which the caller has sent on the same path after what it asks
        about: Redis delivers what one connection published to one subscriber in order, so what the
        marker does not find before it never came."""
        try:
            async with asyncio.timeout(DEADLINE_SECONDS):
                while marker not in self.messages:
                    self.arrived.clear()
                    await self.arrived.wait()
        except TimeoutError:
            pytest.fail(f"{marker} did not arrive in {DEADLINE_SECONDS} s; got {self.messages}")
        return self.messages[: self.messages.index(marker)]

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def two_processes_on_a_group(url: str, group: str, server: RedisServer) -> tuple[Any, Any, Inbox]:
    """Two layers on one Redis database, as two server processes hold them, and the inbox of a channel of
    the second in `group`, subscribed."""
    here, there = layer_on(url), layer_on(url)
    inbox = Inbox(there, await there.new_channel())
    await there.group_add(group, inbox.channel)
    await until_subscribed(server, {group_channel(url, group): 1, inbox.channel: 1})
    return here, there, inbox


async def sent_until_heard(sender: Any, inbox: Inbox, group: str) -> tuple[int, list[int]]:
    """Group-send numbered messages until the inbox holds one: (how many were sent, the numbers it holds).
    A message published into a connection that Redis closed before the layer saw it close is lost, or
    refused with ConnectionError (delivery is at most once); once the layer has opened it again, every
    message arrives."""
    held, sent = len(inbox.messages), 0
    async with asyncio.timeout(DEADLINE_SECONDS):
        while len(inbox.messages) == held:
            sent += 1
            with contextlib.suppress(ConnectionError):
                await sender.group_send(group, {"type": "item.events", "n": sent})
            with contextlib.suppress(TimeoutError):
                await inbox.holding(held + 1, 0.3)
    return sent, [m["n"] for m in inbox.messages[held:]]


async def closed(*things: Any) -> None:
    """Inboxes stopped, then layers flushed (their connections closed)."""
    for thing in things:
        await (thing.close() if isinstance(thing, Inbox) else thing.flush())


# The database number -------------------------------------------------------------------------------------


def test_the_prefix_names_the_database_of_the_url(monkeypatch: Any) -> None:
    monkeypatch.delenv("POLYLOG_CHANNEL_PREFIX", raising=False)
    assert redis_channel_layer("redis://127.0.0.1:6379/3")["CONFIG"]["prefix"] == "polylog.db3."
    tls_url = "rediss://:pw@redis.example:6380/4?ssl_ca_certs=/etc/ca.pem"
    assert redis_channel_layer(tls_url)["CONFIG"]["prefix"] == "polylog.db4."
    assert redis_channel_layer("redis://127.0.0.1:6379")["CONFIG"]["prefix"] == "polylog.db0."
    monkeypatch.setenv("POLYLOG_CHANNEL_PREFIX", "site-a.")
    assert redis_channel_layer("redis://127.0.0.1:6379/3")["CONFIG"]["prefix"] == "site-a."


@pytest.mark.asyncio
async def test_group_sends_reach_the_layers_on_the_same_database_and_not_those_on_another(
    redis_server: RedisServer, monkeypatch: Any
) -> None:
    monkeypatch.delenv("POLYLOG_CHANNEL_PREFIX", raising=False)
    here, same, other = (
        layer_on(redis_server.url(3)),
        layer_on(redis_server.url(3)),
        layer_on(redis_server.url(4)),
    )
    mine, twin, stranger = [Inbox(layer, await layer.new_channel()) for layer in (here, same, other)]
    for inbox in (mine, twin, stranger):
        await inbox.layer.group_add("item.7", inbox.channel)
    await until_subscribed(redis_server, {"polylog.db3.__group__item.7": 2, "polylog.db4.__group__item.7": 1})

    await here.group_send("item.7", {"type": "item.events", "events": [{"seq": 1}]})
    marker = {"type": "marker"}
    await here.send(stranger.channel, marker)  # on the connection of the group send, so after it

    assert [m["events"] for m in await mine.holding(1)] == [[{"seq": 1}]]
    assert [m["events"] for m in await twin.holding(1)] == [[{"seq": 1}]]
    assert await stranger.after(marker) == []
    await closed(mine, twin, stranger, here, same, other)


# Channels and groups across processes --------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_message_sent_to_a_channel_reaches_that_channel_in_another_process(
    redis_server: RedisServer,
) -> None:
    here, there = layer_on(redis_server.url(0)), layer_on(redis_server.url(0))
    inbox = Inbox(there, await there.new_channel())
    await until_subscribed(redis_server, {inbox.channel: 1})

    await here.send(inbox.channel, {"type": "presence.here", "user": {"id": 3}})

    assert await inbox.holding(1) == [{"type": "presence.here", "user": {"id": 3}}]
    await closed(inbox, here, there)


@pytest.mark.asyncio
async def test_a_channel_that_left_its_group_hears_no_more_of_it(redis_server: RedisServer) -> None:
    layer = layer_on(redis_server.url(0))
    leaving, staying = Inbox(layer, await layer.new_channel()), Inbox(layer, await layer.new_channel())
    for inbox in (leaving, staying):
        await layer.group_add("item.9", inbox.channel)
    await layer.group_discard("item.9", leaving.channel)
    await until_subscribed(redis_server, {group_channel(redis_server.url(0), "item.9"): 1})

    await layer.group_send("item.9", {"type": "item.events", "events": []})
    marker = {"type": "marker"}
    await layer.send(leaving.channel, marker)

    assert len(await staying.holding(1)) == 1
    assert await leaving.after(marker) == []
    await closed(leaving, staying, layer)


@pytest.mark.asyncio
async def test_messages_larger_than_a_read_arrive_whole_and_in_order(redis_server: RedisServer) -> None:
    here, there, inbox = await two_processes_on_a_group(redis_server.url(0), "item.3", redis_server)
    events = [[{"seq": n, "payload": f"{n}" * 300_000}] for n in range(1, 4)]  # about 300 KB each

    for batch in events:
        await here.group_send("item.3", {"type": "item.events", "events": batch})

    assert [m["events"] for m in await inbox.holding(3)] == events
    await closed(inbox, here, there)


# Reconnecting --------------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_after_redis_closed_every_connection_of_the_layers_messages_arrive_again(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url(0)
    here, there, inbox = await two_processes_on_a_group(url, "item.5", redis_server)
    await here.group_send("item.5", {"type": "item.events", "n": 0})
    await inbox.holding(1)
    admin = redis_server.admin()
    try:
        killed = frozenset(await subscriber_ids(admin))
        assert killed  # the subscribing connection of `there`
        # As a restart of a proxy or a network fault would: the subscribers, then every other connection
        # but this one (the publishing connection of `here`).
        await admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        await admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    finally:
        await admin.aclose()

    # The subscriber is opened again with all its subscriptions (not those of the killed connection).
    await until_subscribed(redis_server, {group_channel(url, "item.5"): 1, inbox.channel: 1}, not_by=killed)
    sent, heard = await sent_until_heard(here, inbox, "item.5")
    await here.send(inbox.channel, {"type": "presence.here"})

    assert heard in ([sent], [sent - 1, sent])  # the one published before the layer saw the close, lost
    assert (await inbox.holding(len(heard) + 2))[-1] == {"type": "presence.here"}
    await closed(inbox, here, there)


@pytest.mark.asyncio
async def test_after_redis_restarted_the_layer_subscribes_again_and_messages_arrive(
    redis_server: RedisServer,
) -> None:
    url = redis_server.url(0)
    here, there, inbox = await two_processes_on_a_group(url, "item.6", redis_server)

    redis_server.stop()  # nothing survives: no subscriptions, no connections
    redis_server.start()  # on the same port

    await until_subscribed(redis_server, {group_channel(url, "item.6"): 1, inbox.channel: 1})
    sent, heard = await sent_until_heard(here, inbox, "item.6")

    assert heard in ([sent], [sent - 1, sent])
    await closed(inbox, here, there)


# A password, and TLS -------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_layer_with_the_password_of_the_url_is_served(protected_redis: RedisServer) -> None:
    url = protected_redis.url(0, password=PASSWORD)
    here, there, inbox = await two_processes_on_a_group(url, "item.2", protected_redis)

    await here.group_send("item.2", {"type": "item.events", "events": [{"seq": 4}]})

    assert [m["events"] for m in await inbox.holding(1)] == [[{"seq": 4}]]
    await closed(inbox, here, there)


@pytest.mark.asyncio
@pytest.mark.parametrize("password", [None, "not-the-password"])
async def test_a_layer_without_the_password_is_refused_not_silent(
    protected_redis: RedisServer, password: str | None
) -> None:
    layer = layer_on(protected_redis.url(0, password=password))

    with pytest.raises(RedisReplyError, match="NOAUTH" if password is None else "WRONGPASS"):
        await layer.group_send("item.2", {"type": "item.events", "events": []})
    with pytest.raises(RedisReplyError):
        await layer.new_channel()
    await layer.flush()


@pytest.mark.asyncio
async def test_rediss_urls_speak_tls_to_a_server_whose_certificate_the_url_names_the_authority_of(
    tls_redis: tuple[RedisServer, Path],
) -> None:
    server, authority = tls_redis
    url = server.url(0, query=f"ssl_ca_certs={quote(str(authority))}")
    here, there, inbox = await two_processes_on_a_group(url, "item.4", server)

    await here.group_send("item.4", {"type": "item.events", "events": [{"seq": 5}]})
    await here.send(inbox.channel, {"type": "presence.here"})

    assert [m["type"] for m in await inbox.holding(2)] == ["item.events", "presence.here"]
    await closed(inbox, here, there)


@pytest.mark.asyncio
async def test_rediss_urls_check_the_servers_certificate(tls_redis: tuple[RedisServer, Path]) -> None:
    server, _ = tls_redis
    layer = layer_on(server.url(0))  # no authority that signed the server's certificate

    with pytest.raises(ssl.SSLCertVerificationError):
        await layer.group_send("item.4", {"type": "item.events", "events": []})
    await layer.flush()


def test_url_options_the_layer_does_not_read_are_refused_when_it_is_made() -> None:
    with pytest.raises(ValueError, match="socket_timeout"):
        layer_on("redis://127.0.0.1:6379/0?socket_timeout=1")
    with pytest.raises(ValueError, match="unix://"):
        layer_on("unix:///run/redis.sock")


def test_commands_are_written_as_resp_arrays_of_bulk_strings() -> None:
    assert command_bytes(b"PUBLISH", b"polylog.db0.__group__item.7", b"\x81\xa1a\x01") == (
        b"*3\r\n$7\r\nPUBLISH\r\n$27\r\npolylog.db0.__group__item.7\r\n$4\r\n\x81\xa1a\x01\r\n"
    )
