from httpx import AsyncClient


async def test_root_points_to_the_docs(client: AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == "/docs"
    assert isinstance(body["message"], str) and body["message"]


async def test_health_answers_without_the_database(client: AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_health_db_checks_the_database(client: AsyncClient) -> None:
    response = await client.get("/health/db")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_openapi_lists_every_endpoint(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = {
        (method.upper(), path) for path, item in schema["paths"].items() for method in item
    }
    assert operations == {
        ("GET", "/"),
        ("GET", "/health"),
        ("GET", "/health/db"),
        ("POST", "/users"),
        ("POST", "/login"),
        ("POST", "/token/refresh"),
        ("POST", "/logout"),
        ("POST", "/logout-all"),
        ("GET", "/sessions"),
        ("DELETE", "/sessions/{session_id}"),
        ("POST", "/password-reset"),
        ("POST", "/password-reset/confirm"),
        ("GET", "/admin/users"),
        ("GET", "/admin/users/{user_id}"),
        ("PATCH", "/admin/users/{user_id}"),
        ("DELETE", "/admin/users/{user_id}"),
        ("GET", "/users/me"),
        ("PATCH", "/users/me"),
        ("DELETE", "/users/me"),
        ("GET", "/users/{user_id}"),
        ("GET", "/posts"),
        ("POST", "/posts"),
        ("POST", "/posts/batch"),
        ("GET", "/posts/{post_id}"),
        ("PUT", "/posts/{post_id}"),
        ("PATCH", "/posts/{post_id}"),
        ("DELETE", "/posts/{post_id}"),
        ("POST", "/vote"),
    }


async def test_swagger_authorize_logs_in_through_post_login(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    (scheme,) = schema["components"]["securitySchemes"].values()
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "login"
    login_form = schema["paths"]["/login"]["post"]["requestBody"]["content"]
    assert "application/x-www-form-urlencoded" in login_form

    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger-ui" in docs.text


async def test_every_error_a_route_can_answer_is_declared(client: AsyncClient) -> None:
    """Client generators and Swagger see the errors: 401 where a token is needed, 413 and 422
    where a body is read, 503 wherever the database is used; all but 422 as {"detail": str}."""
    schema = (await client.get("/openapi.json")).json()
    # The reset request answers before it looks anything up (the e-mail goes after it).
    no_database = {("GET", "/"), ("GET", "/health"), ("POST", "/password-reset")}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            key = (method.upper(), path)
            declared = set(operation["responses"])
            if operation.get("security"):
                assert "401" in declared, key
            if "requestBody" in operation:
                assert {"413", "422"} <= declared, key
            if key not in no_database:
                assert "503" in declared, key
            for status in declared - {"200", "201", "202", "204", "422"}:
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorMessage"}, key
