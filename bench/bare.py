"""The yardstick of bench/reads.py: a bare Flask route, served by gunicorn with the same
settings (gunicorn.conf.py) as the companion API."""

from flask import Flask

app = Flask(__name__)


@app.get("/bare")
def bare():
    return {"ok": True}
