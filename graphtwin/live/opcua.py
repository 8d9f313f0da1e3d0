"""The OPC UA adapter (asyncua): one client per endpoint and security setting.

- All bindings of an endpoint share one subscription; each bound variable is a
  monitored item with the binding's sampling interval.
- A session loop owns the connection: connect on a fresh client, create the
  subscription, monitor the items, read the current values once (a monitored item
  reports only changes after the first), then watch the connection. When it
  breaks, the bound values are flagged stale and the loop reconnects with a
  capped exponential backoff, on a new client, re-creating everything.
- Security: Basic256Sha256 with Sign or SignAndEncrypt, a client certificate and
  key, user name and password; all from the credentials file. The server's
  certificate is pinned to the one the credential names; without one a secured
  connection is refused unless the credential says ``trust_any_server``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.common.node import Node
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from graphtwin.errors import BadInput, SourceUnavailable
from graphtwin.live.adapter import AdapterStatus
from graphtwin.live.bindings import Binding, OpcUaSource
from graphtwin.live.credentials import CredentialStore
from graphtwin.live.ingest import Ingest
from graphtwin.values import Quality, Sample, Scalar

log = logging.getLogger(__name__)

BACKOFF_MIN, BACKOFF_MAX = 0.25, 2.0
WATCH_SECONDS = 0.5
REQUEST_TIMEOUT = 4.0
WATCHDOG_SECONDS = 5.0
DISCONNECT_SECONDS = 2.0
# How long stop() waits for the session task before cancelling it again.
STOP_RETRY_SECONDS = 1.0
APPLICATION_URI = "urn:graphtwin:client"
_MODES = {
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}


def _quality(status: ua.StatusCode | None) -> Quality:
    if status is None or status.is_good():
        return Quality.GOOD
    if status.is_uncertain():
        return Quality.UNCERTAIN
    return Quality.BAD


def _aware(stamp: datetime | None) -> datetime | None:
    if stamp is None:
        return None
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


async def _cancel_until_done(task: asyncio.Task[None], what: str) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again while it runs on.

    The session task runs asyncua's code, and a cancellation can be lost in there:
    Python 3.11's ``asyncio.wait_for`` drops one that lands as its inner future
    completes, and asyncua's teardown helpers catch ``CancelledError`` while they
    wait for their own tasks. Asking once would then leave ``stop()`` waiting on a
    session that never ends.
    """
    attempts = 0
    while not task.done():
        attempts += 1
        if attempts == 3:
            log.warning("%s: the session task ignored two cancellations; asking again", what)
        task.cancel()
        await asyncio.wait([task], timeout=STOP_RETRY_SECONDS)
    if not task.cancelled() and (error := task.exception()) is not None:
        log.error("%s: the session task failed while stopping: %r", what, error)


class _Handler:
    """asyncua's subscription handler: collects a publish's changes into one commit."""

    def __init__(self, adapter: OpcUaAdapter) -> None:
        self.adapter = adapter

    def datachange_notification(self, node: Node, val: Any, data: Any) -> None:
        value: ua.DataValue = data.monitored_item.Value
        self.adapter.on_value(node.nodeid, val, value)

    def status_change_notification(self, status: Any) -> None:
        log.warning("OPC UA %s subscription status: %s", self.adapter.endpoint, status)


class OpcUaAdapter:
    def __init__(
        self,
        group: str,
        ingest: Ingest,
        *,
        credentials: CredentialStore | None = None,
    ) -> None:
        self.name = group
        self.ingest = ingest
        self.credentials = credentials or CredentialStore()
        self.endpoint = group.split("|", 1)[0]
        self._bindings: list[Binding] = []
        self._by_node: dict[ua.NodeId, list[Binding]] = {}
        self._monitored: dict[ua.NodeId, int] = {}
        self._types: dict[ua.NodeId, ua.VariantType] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: Client | None = None
        self._subscription: Any = None
        self._pending: list[Sample] = []
        self._commit_scheduled = False
        self._stopping = False
        self.connected = False
        self.connects = 0
        self.failures = 0
        self.last_error = ""

    # -- bindings --------------------------------------------------------------------
    async def update(self, bindings: Sequence[Binding]) -> None:
        self._bindings = list(bindings)
        self._changed.set()

    def _source(self) -> OpcUaSource:
        source = self._bindings[0].source
        assert isinstance(source, OpcUaSource)
        return source

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name=f"opcua {self.endpoint}")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            await _cancel_until_done(task, f"OPC UA {self.endpoint}")
        self._commit()

    async def _run(self) -> None:
        backoff = BACKOFF_MIN
        while not self._stopping:
            try:
                await self._session()
            except asyncio.CancelledError:
                raise
            except BadInput as exc:
                self.last_error = exc.message
                log.error("OPC UA %s: %s", self.endpoint, exc.message)
            except Exception as exc:  # noqa: BLE001 - any failure of a session means: reconnect
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                if self.failures <= 3 or self.failures % 100 == 0:
                    log.warning("OPC UA %s unavailable: %s", self.endpoint, self.last_error)
            finally:
                if self.connected:
                    backoff = BACKOFF_MIN
                self.connected = False
                self.ingest.stale([b.key for b in self._bindings])
            if self._stopping:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _client_for(self, source: OpcUaSource) -> Client:
        # asyncua's health probe (a read every watchdog interval, timing out after the
        # same) drops connections to servers busy with thousands of monitored items;
        # a dead peer still shows up at once as a closed socket.
        client = Client(self.endpoint, timeout=REQUEST_TIMEOUT, watchdog_intervall=WATCHDOG_SECONDS)
        client.application_uri = APPLICATION_URI
        credential = self.credentials.get(source.credential)
        if credential is not None and credential.username:
            client.set_user(credential.username)
            client.set_password(credential.password or "")
        if source.security_policy == "Basic256Sha256":
            if credential is None or not credential.certificate or not credential.private_key:
                raise BadInput(
                    f"{self.endpoint}: Basic256Sha256 needs a credential with a client "
                    "certificate and private key"
                )
            if credential.server_certificate is None and not credential.trust_any_server:
                raise BadInput(
                    f"{self.endpoint}: the server certificate is not trusted; name it as "
                    f"server_certificate of credential {credential.name!r} "
                    "(or set trust_any_server)"
                )
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                certificate=str(credential.certificate),
                private_key=str(credential.private_key),
                server_certificate=(
                    str(credential.server_certificate) if credential.server_certificate else None
                ),
                mode=_MODES[source.security_mode],
            )
        return client

    async def _session(self) -> None:
        while not self._bindings:
            self._changed.clear()
            await self._changed.wait()
        client = await self._client_for(self._source())
        self._client = client
        await client.connect()
        try:
            self.connected = True
            self.connects += 1
            self._monitored = {}
            self._types = {}
            interval = min(b.source.sampling_interval_ms for b in self._bindings)  # type: ignore[union-attr]
            self._subscription = await client.create_subscription(interval, _Handler(self))
            await self._sync(client)
            log.info("OPC UA %s connected: %d items", self.endpoint, len(self._monitored))
            while not self._stopping:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the
                # result and drops a cancellation that lands as the event is set.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(WATCH_SECONDS):
                        await self._changed.wait()
                if self._changed.is_set():
                    self._changed.clear()
                    await self._sync(client)
                await client.check_connection()
        finally:
            self.connected = False
            self._client = None
            self._subscription = None
            with contextlib.suppress(Exception):
                async with asyncio.timeout(DISCONNECT_SECONDS):
                    await client.disconnect()

    async def _resolve(
        self, client: Client, node_id: str, namespaces: dict[str, int] | None = None
    ) -> ua.NodeId:
        """The NodeId of ``node_id``; ``namespaces`` caches URI -> index across calls
        (one server round trip per namespace, not per node)."""
        if node_id.startswith("nsu="):
            uri, _, rest = node_id[4:].partition(";")
            index = namespaces.get(uri) if namespaces is not None else None
            if index is None:
                index = await client.get_namespace_index(uri)
                if namespaces is not None:
                    namespaces[uri] = index
            return ua.NodeId.from_string(f"ns={index};{rest}")
        return ua.NodeId.from_string(node_id)

    async def _sync(self, client: Client) -> None:
        """Monitor exactly the bound nodes; read the values of newly monitored ones."""
        by_node: dict[ua.NodeId, list[Binding]] = {}
        namespaces: dict[str, int] = {}
        for binding in self._bindings:
            source = binding.source
            assert isinstance(source, OpcUaSource)
            node_id = await self._resolve(client, source.node_id, namespaces)
            by_node.setdefault(node_id, []).append(binding)
        self._by_node = by_node
        gone = [n for n in self._monitored if n not in by_node]
        for node_id in gone:
            handle = self._monitored.pop(node_id)
            with contextlib.suppress(UaError):
                await self._subscription.unsubscribe(handle)
        new = [n for n in by_node if n not in self._monitored]
        if not new:
            return
        nodes = [client.get_node(n) for n in new]
        # Read first: the notification that follows subscribing may come later.
        values = await client.read_attributes(nodes, ua.AttributeIds.Value)  # type: ignore[attr-defined]
        for node_id, value in zip(new, values, strict=True):
            self.on_value(node_id, value.Value.Value if value.Value else None, value)
        for group_interval, group in self._by_interval(new).items():
            handles = await self._subscription.subscribe_data_change(
                [client.get_node(n) for n in group], sampling_interval=group_interval
            )
            for node_id, handle in zip(group, handles, strict=True):
                if isinstance(handle, int):
                    self._monitored[node_id] = handle
                else:  # a StatusCode: the server refused this item
                    for binding in by_node[node_id]:
                        self.ingest.refuse(binding.iri, f"monitored item refused: {handle}")

    def _by_interval(self, nodes: list[ua.NodeId]) -> dict[float, list[ua.NodeId]]:
        out: dict[float, list[ua.NodeId]] = {}
        for node_id in nodes:
            interval = min(
                b.source.sampling_interval_ms  # type: ignore[union-attr]
                for b in self._by_node[node_id]
            )
            out.setdefault(interval, []).append(node_id)
        return out

    # -- values (event loop) -------------------------------------------------------------
    def on_value(self, node_id: ua.NodeId, val: Any, data: ua.DataValue) -> None:
        bindings = self._by_node.get(node_id)
        if not bindings:
            return
        quality = _quality(data.StatusCode)
        stamp = _aware(data.SourceTimestamp) or _aware(data.ServerTimestamp)
        for binding in bindings:
            if val is None and quality is Quality.GOOD:
                self.ingest.refuse(binding.iri, "empty value")
                continue
            sample = self.ingest.sample(binding, val, stamp, quality)
            if sample is not None:
                self._pending.append(sample)
        if self._pending and not self._commit_scheduled:
            self._commit_scheduled = True
            asyncio.get_running_loop().call_soon(self._commit)

    def _commit(self) -> None:
        self._commit_scheduled = False
        batch, self._pending = self._pending, []
        if batch:
            self.ingest.commit(batch)

    # -- writes ------------------------------------------------------------------------
    async def write(self, binding: Binding, value: Scalar) -> None:
        client = self._client
        source = binding.source
        if client is None or not self.connected or not isinstance(source, OpcUaSource):
            raise SourceUnavailable(f"OPC UA server {self.endpoint} is not connected")
        node_id = await self._resolve(client, source.node_id)
        node = client.get_node(node_id)
        try:
            vtype = self._types.get(node_id)
            if vtype is None:
                vtype = await node.read_data_type_as_variant_type()
                self._types[node_id] = vtype
            await node.write_value(ua.DataValue(ua.Variant(_as_type(value, vtype), vtype)))
        except UaStatusCodeError as exc:
            raise SourceUnavailable(
                f"OPC UA server {self.endpoint} refused the write to {source.node_id}: {exc}"
            ) from None

    def status(self) -> AdapterStatus:
        return AdapterStatus(
            name=self.endpoint,
            kind="opcua",
            connected=self.connected,
            bindings=len(self._bindings),
            detail=self.last_error,
            counters={
                "connects": self.connects,
                "failures": self.failures,
                "monitored": len(self._monitored),
            },
        )


_INTEGER_TYPES = {
    ua.VariantType.SByte,
    ua.VariantType.Byte,
    ua.VariantType.Int16,
    ua.VariantType.UInt16,
    ua.VariantType.Int32,
    ua.VariantType.UInt32,
    ua.VariantType.Int64,
    ua.VariantType.UInt64,
}


def _as_type(value: Scalar, vtype: ua.VariantType) -> Scalar:
    if vtype in _INTEGER_TYPES and isinstance(value, float) and value.is_integer():
        return int(value)
    if vtype in (ua.VariantType.Float, ua.VariantType.Double) and isinstance(value, int):
        return float(value)
    return value
