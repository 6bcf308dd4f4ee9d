from typing import Any

from httpx import AsyncClient

from tests.contract import BY_KEY, SECTIONS


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


async def test_openapi_lists_every_endpoint_of_the_contract(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    operations = {
        f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item
    }
    assert operations == set(BY_KEY)
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            listed = BY_KEY[f"{method.upper()} {path}"]
            assert operation["tags"] == [listed.section], listed
            assert bool(operation.get("security")) == listed.token, listed


async def test_swagger_shows_its_sections_in_the_order_a_newcomer_needs(
    client: AsyncClient,
) -> None:
    # Swagger orders its sections by the document's `tags`: from checking that the service is
    # up and logging in, to posts, votes and comments, with admin last. Every operation is in
    # one of them.
    schema = (await client.get("/openapi.json")).json()
    assert [tag["name"] for tag in schema["tags"]] == SECTIONS
    assert all(tag.get("description") for tag in schema["tags"])
    used = {tag for item in schema["paths"].values() for op in item.values() for tag in op["tags"]}
    assert used == set(SECTIONS)


async def test_the_top_of_the_docs_says_how_to_start(client: AsyncClient) -> None:
    """Swagger's and ReDoc's first lines: sign up, Authorize with the e-mail as username, then
    try the feed; comments are named too."""
    info = (await client.get("/openapi.json")).json()["info"]
    assert info["summary"] == "Users, login, posts, comments and votes."
    steps = info["description"]
    assert steps.index("`POST /users`") < steps.index("**Authorize**") < steps.index("`GET /posts`")
    assert "e-mail" in steps and "as *username*" in steps
    assert "/posts/{post_id}/comments" in steps and "DELETE /comments/{id}" in steps


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
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            key = f"{method.upper()} {path}"
            declared = set(operation["responses"])
            if operation.get("security"):
                assert "401" in declared, key
            if "requestBody" in operation:
                assert {"413", "422"} <= declared, key
            if BY_KEY[key].database:
                assert "503" in declared, key
            for status in declared - {"200", "201", "202", "204", "422"}:
                content = operation["responses"][status]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorMessage"}, key


GENERIC_DESCRIPTIONS = {"Successful Response", "Validation Error", ""}


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    if ref := schema.get("$ref"):
        return document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def _placeholders(value: Any) -> list[Any]:
    """Swagger's made-up values in an example: "string", 0 for every number, ..."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _placeholders(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _placeholders(item)]
    return [value] if value in ("string", "", None) else []


def _example_of(media: dict[str, Any], document: dict[str, Any]) -> list[Any]:
    """Every example a person sees for a body: the media type's, else the schema's."""
    if "example" in media:
        return [media["example"]]
    if "examples" in media:
        return [example["value"] for example in media["examples"].values()]
    schema = _resolve(media.get("schema", {}), document)
    if schema.get("type") == "array":
        schema = _resolve(schema["items"], document)
    return list(schema.get("examples", []))


async def test_every_operation_and_response_explains_itself(client: AsyncClient) -> None:
    """What a person clicking through Swagger or ReDoc reads: a one-line summary and a
    description per operation; a real description per response; an example per JSON body,
    with the API's real messages for errors, never a placeholder such as "string"."""
    document = (await client.get("/openapi.json")).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            key = f"{method.upper()} {path}"
            summary = operation.get("summary", "")
            assert summary and "\n" not in summary and len(summary) <= 80, key
            assert len(operation.get("description", "")) >= 20, key
            if "requestBody" in operation:
                for media in operation["requestBody"]["content"].values():
                    schema = _resolve(media["schema"], document)
                    if schema.get("type") == "array":
                        schema = _resolve(schema["items"], document)
                    examples = schema.get("examples") or [
                        {name: field.get("examples", [None])[0]}
                        for name, field in schema["properties"].items()
                    ]
                    assert examples and not _placeholders(examples), key
            for status, response in operation["responses"].items():
                assert response["description"] not in GENERIC_DESCRIPTIONS, (key, status)
                media = response.get("content", {}).get("application/json")
                if media is None:
                    assert status == "204", (key, status)
                    continue
                examples = _example_of(media, document)
                assert examples, (key, status)
                for example in examples:
                    assert not _placeholders(example), (key, status, example)
                    if int(status) >= 400:
                        assert example["detail"], (key, status)


async def test_examples_are_the_ones_a_person_expects(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    paths = document["paths"]

    (post,) = schemas["PostCreate"]["examples"]
    assert " " in post["title"] and post["published"] is True  # a sentence, not "G"
    title = schemas["PostCreate"]["properties"]["title"]
    assert "pattern" not in title  # the rule in words, not a regular expression
    assert title["description"].startswith("1 to 200 characters, at least one visible character")
    assert schemas["VoteCreate"]["examples"] == [{"post_id": 1, "dir": 1}]
    login = schemas["LoginForm"]["properties"]["username"]
    assert login["examples"] == ["alice@example.com"] and "e-mail" in login["description"]

    def error(path: str, method: str, status: str) -> list[str]:
        media = paths[path][method]["responses"][status]["content"]["application/json"]
        return [example["detail"] for example in _example_of(media, document)]

    assert error("/login", "post", "401") == ["Incorrect email or password"]
    assert error("/login", "post", "403") == ["Account disabled"]
    assert error("/posts/{post_id}", "get", "404") == ["Post not found"]
    assert error("/posts/{post_id}", "put", "403") == ["Not authorized to perform requested action"]
    assert error("/users", "post", "409") == ["Email already registered"]
    assert error("/admin/users", "get", "403") == ["Admins only"]
    assert error("/vote", "post", "404") == ["Post not found", "Vote does not exist"]
    assert error("/users/me", "get", "401") == [
        "Not authenticated",
        "Could not validate credentials",
    ]
    assert error("/token/refresh", "post", "401") == ["Invalid refresh token"]
    root = paths["/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert _example_of(root, document) == [{"message": "Welcome to the posts API", "docs": "/docs"}]
    validation = paths["/posts"]["post"]["responses"]["422"]["content"]["application/json"]
    assert validation["example"]["detail"][0]["loc"] == ["body", "title"]

    (scheme,) = document["components"]["securitySchemes"].values()
    assert "e-mail address" in scheme["description"]


async def test_the_examples_are_answered_as_documented(client: AsyncClient) -> None:
    """The documented examples are real: signing up and writing the example post work, and
    the errors carry the documented messages."""
    document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    (user,) = schemas["UserCreate"]["examples"]
    assert (await client.post("/users", json=user)).status_code == 201
    again = await client.post("/users", json=user)
    assert (again.status_code, again.json()) == (409, {"detail": "Email already registered"})
    login = await client.post(
        "/login", data={"username": user["email"], "password": user["password"]}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    (post,) = schemas["PostCreate"]["examples"]
    created = await client.post("/posts", json=post, headers=headers)
    assert created.status_code == 201
    assert {key: created.json()[key] for key in post} == post
    vote = await client.post(
        "/vote", json={"post_id": created.json()["id"], "dir": 1}, headers=headers
    )
    assert vote.json() == {"message": "Successfully added vote"}
