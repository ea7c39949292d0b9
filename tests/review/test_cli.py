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
