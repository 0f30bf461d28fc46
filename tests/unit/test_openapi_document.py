"""The OpenAPI document is valid OpenAPI 3 (schema-driven tools refuse an invalid one) and names credentials."""
import pytest
from openapi_spec_validator import validate

from api.app import create_app
from config import Settings

pytestmark = pytest.mark.auth_on


@pytest.fixture(scope="module")
def document():
    app = create_app(Settings(cassandra={"port": 1}, security={"jwt_secret": "d" * 40}))
    return app.test_client().get("/openapi/openapi.json").get_json()


def test_the_document_passes_an_openapi_3_validator(document):
    validate(document)          # raises, naming the first error, when it is not valid


def test_security_schemes_are_declared_and_protected_operations_name_them(document):
    assert set(document["components"]["securitySchemes"]) == {"apiKey", "bearer"}
    assert document["paths"]["/recommends/{user_id}"]["get"]["security"] == [{"apiKey": []}, {"bearer": []}]
    assert document["paths"]["/admin/train"]["post"]["security"] == [{"apiKey": []}]
    assert document["paths"]["/me"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/anime/{anime_id}"]["get"]


def test_every_route_is_documented(document):
    for path in ("/auth/register", "/auth/login", "/auth/refresh", "/me", "/me/recommends", "/me/ratings",
                 "/me/history", "/admin/keys", "/admin/keys/{key_id}", "/clicks", "/events", "/health"):
        assert path in document["paths"], path
