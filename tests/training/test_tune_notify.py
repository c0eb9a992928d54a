"""tune (Optuna grid over a tiny store) and --notify (apprise to a loopback webhook)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from floodcast.training.train import TrainConfig, notify
from floodcast.training.tune import tune


def test_notify_posts_to_a_local_webhook():
    got = []

    class H(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.handle_request, daemon=True)
    t.start()
    ok = notify(f"json://127.0.0.1:{srv.server_port}/hook", "floodcast train finished", "CSI 0.5")
    t.join(10)
    srv.server_close()
    assert ok and got
    body = json.loads(got[0])
    assert body["title"] == "floodcast train finished" and "CSI 0.5" in body["message"]


def test_notify_never_raises_on_bad_url():
    assert notify("notaservice://x", "t", "b") is False
    assert notify(None, "t", "b") is False


def test_tune_grid_writes_table_and_plot(tiny_store, tmp_path):
    base = TrainConfig(
        data=str(tiny_store[0]),
        out=str(tmp_path),
        model="small_unet",
        epochs=1,
        formulation="original",
    )
    best = tune(base, tmp_path, sampler="grid", space={"lr": [1e-3, 3e-3], "loss": ["ce_dice"]})
    assert best["trials"] == 2
    assert set(best["params"]) == {"lr", "loss"}
    assert (tmp_path / "trials.csv").read_text().count("\n") == 3
    assert (tmp_path / "tune.png").stat().st_size > 1000
