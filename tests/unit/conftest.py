"""Unit tests of routes test what the routes do; auth is off for them (``ANIMEREC_AUTH=off``, loopback).

Tests of credentials themselves (``test_api_auth.py``) are marked ``auth_on`` and get the
platform's default: auth on.
"""
import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "auth_on: keep the default ANIMEREC_AUTH=on in this test")


@pytest.fixture(autouse=True)
def _auth_off_for_route_tests(request, monkeypatch):
    if request.node.get_closest_marker("auth_on") is None:
        monkeypatch.setenv("ANIMEREC_AUTH", "off")
