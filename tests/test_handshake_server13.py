"""Server TLS 1.3 states: what the server works out ahead of the client's Finished."""

from __future__ import annotations

from puretls.connection import Connection
from puretls.events import ApplicationData
from puretls.handshake import server13
from test_connection import client_config, server_config


def _to_client_finished(server_kw: dict[str, object]) -> tuple[Connection, Connection]:
    client, server = Connection(client_config()), Connection(server_config(**server_kw))
    client.start_handshake()
    server.receive_data(client.data_to_send())
    server.prepare()
    client.receive_data(server.data_to_send())
    assert client.handshake_complete
    return client, server


def test_prepared_server_reads_the_client_with_its_prepared_application_key() -> None:
    client, server = _to_client_finished({})
    state = server._state
    assert isinstance(state, server13.ExpectClientFinished)
    assert state.prepared is not None
    prepared_read = state.prepared.client_read
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    assert server.handshake_complete
    # RFC 8446 7.3: the key and IV of client_application_traffic_secret_0 do
    # not depend on the client's Finished, so the prepared protection is used.
    assert server._records.read_protection is prepared_read
    assert [e for e in server.take_events() if isinstance(e, ApplicationData)] == [
        ApplicationData(data=b"ping")
    ]


def test_unprepared_server_derives_the_client_application_key_on_arrival() -> None:
    client, server = Connection(client_config()), Connection(server_config())
    client.start_handshake()
    server.receive_data(client.data_to_send())
    client.receive_data(server.data_to_send())
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    assert server.handshake_complete
    assert [e for e in server.take_events() if isinstance(e, ApplicationData)] == [
        ApplicationData(data=b"ping")
    ]
