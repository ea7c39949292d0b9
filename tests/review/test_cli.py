"""``assay review`` on the command line: a public address is served with a warning, every
host name answered; Ctrl-C stops it."""

from __future__ import annotations

import urllib.request

import pytest


@pytest.mark.timeout(120)
def test_a_public_address_is_served_with_a_warning(ws_path, server_process):
    server = server_process(ws_path, "--host", "0.0.0.0")
    assert server.url.startswith("http://0.0.0.0:")
    port = server.url.rsplit(":", 1)[1].strip("/")
    # any host name is answered (the loopback-only check would refuse this one)
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"review.example:{port}"})
    assert urllib.request.urlopen(req, timeout=30).status == 200
    err = server.stop()
    assert "warning: --host 0.0.0.0 lets anyone who can reach this machine" in " ".join(err.split())


@pytest.mark.timeout(120)
def test_the_loopback_server_answers_only_loopback_names(ws_path, server_process):
    import urllib.error

    server = server_process(ws_path)
    port = server.url.rsplit(":", 1)[1].strip("/")
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"rebound.example:{port}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(req, timeout=30)
    assert refused.value.code == 400
    assert "warning" not in server.stop()


def test_a_page_query_can_name_its_oracle(ws_path):
    """`assay oracle add` names a page question; --query takes the name and its range."""
    import assay
    from assay.cli._common import CliError
    from assay.cli._review import parse_query

    with assay.Workspace(ws_path) as ws:
        ws.add_oracle("people_q", "review:people in the frame", value_range=(0, 30))
        verb, params = parse_query("aggregate -r frames -p proxy -o people_q --budget 60", ws)
        assert verb == "aggregate" and params["oracle"] == "review:people in the frame"
        assert tuple(params["value_range"]) == (0.0, 30.0)
        try:
            parse_query("aggregate -r frames -p proxy -o nobody --budget 60 --range 0 3", ws)
        except CliError as exc:
            assert "nor an oracle name" in str(exc) and "people_q" in str(exc)
        else:
            raise AssertionError("an unknown oracle name was accepted")


def test_a_page_query_can_be_sql(ws_path):
    """--query takes a query of `assay sql` whose oracle is a page question; a mistake is shown
    where it is, and a query that asks no one is sent back to `assay sql`."""
    import assay
    from assay.cli._common import CliError
    from assay.cli._review import parse_query

    with assay.Workspace(ws_path) as ws:
        ws.add_oracle("people_q", "review:people in the frame", value_range=(0, 30))
        ws.add_oracle("truth", "column:proxy", value_range=(0, 1))
        q = "SELECT AVG(people_q(frame)) FROM frames ORACLE LIMIT 60 USING proxy"
        assert parse_query(q, ws) == ("sql", {"query": q})
        assert parse_query("  select avg(people_q(frame)) from frames oracle limit 6", ws)[0] == "sql"
        for bad, why in (("SELECT AVG(people_q(frame)) FROM frames ORACLE LIMIT -1", "line 1, column 54"),
                         ("SELECT AVG(truth(frame)) FROM frames ORACLE LIMIT 6", "asks no one on the page"),
                         ("EXPLAIN SELECT AVG(people_q(frame)) FROM frames ORACLE LIMIT 6", "an EXPLAIN")):
            with pytest.raises(CliError, match=why):
                parse_query(bad, ws)
