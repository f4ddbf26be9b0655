"""The test app with the shipped Argon2 parameters (the test settings use cheap ones), for gunicorn:
tests.strong_hashing:app."""

from webapp import create_app
from webapp.config import ARGON2_PARAMS

app = create_app(overrides={"ARGON2_PARAMS": ARGON2_PARAMS})
