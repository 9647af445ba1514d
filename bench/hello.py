"""The bare Flask app that bench/web measures the site against."""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Hello, World!"
