"""Votes through HTTP: POST /vote with `dir` 1 (add) or 0 (take back), as API.md describes it,
checked through the `votes` and `voted` fields of the posts that GET /posts shows."""

from typing import Any

import pytest
from httpx import AsyncClient, Response

from tests.checks import assert_invalid
from tests.factories import create_post, new_account, vote

MAX_ID = 2**31 - 1
ADDED = {"message": "Successfully added vote"}
DELETED = {"message": "Successfully deleted vote"}
POST_NOT_FOUND = {"detail": "Post not found"}


# --- helpers ---------------------------------------------------------------------------


async def post_vote(client: AsyncClient, user: dict[str, Any], body: Any) -> Response:
    return await client.post("/vote", json=body, headers=user["headers"])


async def seen_by(client: AsyncClient, user: dict[str, Any], post_id: int) -> tuple[int, bool]:
    """(`votes`, `voted`) of the post as `user` sees it with GET /posts/{id}."""
    response = await client.get(f"/posts/{post_id}", headers=user["headers"])
    assert response.status_code == 200, response.text
    return response.json()["votes"], response.json()["voted"]


async def listed_for(client: AsyncClient, user: dict[str, Any]) -> dict[int, tuple[int, bool]]:
    """(`votes`, `voted`) of every post in `user`'s GET /posts, by post id."""
    response = await client.get("/posts?limit=100", headers=user["headers"])
    assert response.status_code == 200, response.text
    return {post["id"]: (post["votes"], post["voted"]) for post in response.json()}


@pytest.fixture
async def author(client: AsyncClient) -> dict[str, Any]:
    return await new_account(client, name="author")


@pytest.fixture
async def voter(client: AsyncClient) -> dict[str, Any]:
    return await new_account(client, name="voter")


@pytest.fixture
async def post(client: AsyncClient, author: dict[str, Any]) -> dict[str, Any]:
    """A published post by `author`."""
    return await create_post(client, author["headers"], title="Vote for me")


# --- dir 1: adding a vote --------------------------------------------------------------


async def test_vote_is_201_with_message(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 1})
    assert response.status_code == 201
    assert response.json() == ADDED


async def test_a_new_post_has_no_votes(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    assert (post["votes"], post["voted"]) == (0, False)
    assert await seen_by(client, voter, post["id"]) == (0, False)
    assert await seen_by(client, author, post["id"]) == (0, False)


async def test_vote_counts_and_shows_as_voted_only_for_the_voter(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    bystander = await new_account(client)
    await vote(client, voter["headers"], post["id"])

    assert await seen_by(client, voter, post["id"]) == (1, True)
    assert await seen_by(client, author, post["id"]) == (1, False)
    assert await seen_by(client, bystander, post["id"]) == (1, False)
    assert (await listed_for(client, voter))[post["id"]] == (1, True)
    assert (await listed_for(client, bystander))[post["id"]] == (1, False)


async def test_voting_twice_is_409_and_counts_once(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 1})
    assert response.status_code == 409
    assert set(response.json()) == {"detail"}
    assert isinstance(response.json()["detail"], str) and response.json()["detail"]
    assert await seen_by(client, voter, post["id"]) == (1, True)


async def test_voting_for_your_own_published_post_is_allowed(
    client: AsyncClient, author: dict[str, Any], post: dict[str, Any]
) -> None:
    response = await post_vote(client, author, {"post_id": post["id"], "dir": 1})
    assert response.status_code == 201
    assert response.json() == ADDED
    assert await seen_by(client, author, post["id"]) == (1, True)


async def test_votes_of_several_users_add_up(
    client: AsyncClient, author: dict[str, Any], post: dict[str, Any]
) -> None:
    voters = [await new_account(client) for _ in range(4)]
    for count, user in enumerate(voters, start=1):
        await vote(client, user["headers"], post["id"])
        assert await seen_by(client, author, post["id"]) == (count, False)
    for user in voters:
        assert await seen_by(client, user, post["id"]) == (4, True)
    await vote(client, author["headers"], post["id"])
    assert await seen_by(client, author, post["id"]) == (5, True)


async def test_votes_count_per_post(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    other_post = await create_post(client, author["headers"], title="Another one")
    untouched = await create_post(client, author["headers"], title="Nobody votes here")
    await vote(client, voter["headers"], post["id"])
    await vote(client, voter["headers"], other_post["id"])
    await vote(client, author["headers"], other_post["id"])

    assert await listed_for(client, voter) == {
        post["id"]: (1, True),
        other_post["id"]: (2, True),
        untouched["id"]: (0, False),
    }


async def test_voting_for_an_unknown_post_is_404(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    for post_id in (post["id"] + 1, MAX_ID):
        response = await post_vote(client, voter, {"post_id": post_id, "dir": 1})
        assert response.status_code == 404
        assert response.json() == POST_NOT_FOUND


async def test_voting_for_a_deleted_post_is_404(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    deleted = await client.delete(f"/posts/{post['id']}", headers=author["headers"])
    assert deleted.status_code == 204
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 1})
    assert response.status_code == 404
    assert response.json() == POST_NOT_FOUND


async def test_voting_for_another_users_draft_is_404(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any]
) -> None:
    draft = await create_post(client, author["headers"], published=False)
    response = await post_vote(client, voter, {"post_id": draft["id"], "dir": 1})
    assert response.status_code == 404
    assert response.json() == POST_NOT_FOUND
    assert await seen_by(client, author, draft["id"]) == (0, False)


async def test_voting_for_your_own_draft_is_allowed(
    client: AsyncClient, author: dict[str, Any]
) -> None:
    draft = await create_post(client, author["headers"], published=False)
    response = await post_vote(client, author, {"post_id": draft["id"], "dir": 1})
    assert response.status_code == 201
    assert response.json() == ADDED
    assert await seen_by(client, author, draft["id"]) == (1, True)


async def test_votes_on_a_draft_show_once_it_is_published(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any]
) -> None:
    draft = await create_post(client, author["headers"], published=False)
    await vote(client, author["headers"], draft["id"])
    published = await client.patch(
        f"/posts/{draft['id']}", json={"published": True}, headers=author["headers"]
    )
    assert published.status_code == 200
    assert await seen_by(client, voter, draft["id"]) == (1, False)
    await vote(client, voter["headers"], draft["id"])
    assert await seen_by(client, author, draft["id"]) == (2, True)


# --- dir 0: taking a vote back ---------------------------------------------------------


async def test_unvote_is_200_with_message_and_the_count_goes_back(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 0})
    assert response.status_code == 200
    assert response.json() == DELETED
    assert await seen_by(client, voter, post["id"]) == (0, False)
    assert await seen_by(client, author, post["id"]) == (0, False)


async def test_unvote_takes_back_only_the_callers_vote(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    await vote(client, author["headers"], post["id"])
    await vote(client, voter["headers"], post["id"], direction=0)
    assert await seen_by(client, voter, post["id"]) == (1, False)
    assert await seen_by(client, author, post["id"]) == (1, True)


async def test_vote_again_after_taking_it_back(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    await vote(client, voter["headers"], post["id"], direction=0)
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 1})
    assert response.status_code == 201
    assert response.json() == ADDED
    assert await seen_by(client, voter, post["id"]) == (1, True)


async def test_unvote_without_a_vote_is_404(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, author["headers"], post["id"])  # someone else's vote does not count
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 0})
    assert response.status_code == 404
    assert response.json() == {"detail": "Vote does not exist"}
    assert await seen_by(client, author, post["id"]) == (1, True)


async def test_unvote_twice_is_404_the_second_time(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    await vote(client, voter["headers"], post["id"], direction=0)
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": 0})
    assert response.status_code == 404
    assert response.json() == {"detail": "Vote does not exist"}


async def test_unvote_on_an_unknown_post_is_404(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    response = await post_vote(client, voter, {"post_id": post["id"] + 1, "dir": 0})
    assert response.status_code == 404
    assert response.json() == POST_NOT_FOUND


async def test_unvote_on_another_users_draft_is_404(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any]
) -> None:
    draft = await create_post(client, author["headers"], published=False)
    await vote(client, author["headers"], draft["id"])
    response = await post_vote(client, voter, {"post_id": draft["id"], "dir": 0})
    assert response.status_code == 404
    assert response.json() == POST_NOT_FOUND
    assert await seen_by(client, author, draft["id"]) == (1, True)


async def test_unvote_on_your_own_draft(client: AsyncClient, author: dict[str, Any]) -> None:
    draft = await create_post(client, author["headers"], published=False)
    await vote(client, author["headers"], draft["id"])
    response = await post_vote(client, author, {"post_id": draft["id"], "dir": 0})
    assert response.status_code == 200
    assert response.json() == DELETED
    assert await seen_by(client, author, draft["id"]) == (0, False)


async def test_a_vote_on_a_post_that_became_a_draft_cannot_be_taken_back_by_others(
    client: AsyncClient, author: dict[str, Any], voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    hidden = await client.patch(
        f"/posts/{post['id']}", json={"published": False}, headers=author["headers"]
    )
    assert hidden.status_code == 200
    for direction in (0, 1):
        response = await post_vote(client, voter, {"post_id": post["id"], "dir": direction})
        assert response.status_code == 404
        assert response.json() == POST_NOT_FOUND


# --- validation and authentication -----------------------------------------------------


@pytest.mark.parametrize("direction", [2, -1, "1", "0", True, False, 1.5, 1.0, None, [1], {}])
async def test_any_other_dir_is_422(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any], direction: Any
) -> None:
    response = await post_vote(client, voter, {"post_id": post["id"], "dir": direction})
    assert_invalid(response, ["body", "dir"])
    assert await seen_by(client, voter, post["id"]) == (0, False)


async def test_missing_dir_is_422(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    response = await post_vote(client, voter, {"post_id": post["id"]})
    assert_invalid(response, ["body", "dir"])
    assert response.json()["detail"][0]["type"] == "missing"
    assert await seen_by(client, voter, post["id"]) == (0, False)


@pytest.mark.parametrize("post_id", [0, -1, MAX_ID + 1, 10**20, None, "abc", 1.5])
async def test_post_id_out_of_range_or_not_an_integer_is_422(
    client: AsyncClient, voter: dict[str, Any], post_id: Any
) -> None:
    response = await post_vote(client, voter, {"post_id": post_id, "dir": 1})
    assert_invalid(response, ["body", "post_id"])


async def test_missing_post_id_is_422(client: AsyncClient, voter: dict[str, Any]) -> None:
    response = await post_vote(client, voter, {"dir": 1})
    assert_invalid(response, ["body", "post_id"])
    assert response.json()["detail"][0]["type"] == "missing"


@pytest.mark.parametrize("body", [None, [], [1, 1], "vote", 1])
async def test_a_body_that_is_not_an_object_is_422(
    client: AsyncClient, voter: dict[str, Any], body: Any
) -> None:
    response = await post_vote(client, voter, body)
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


async def test_vote_without_token_is_401(client: AsyncClient, post: dict[str, Any]) -> None:
    response = await client.post("/vote", json={"post_id": post["id"], "dir": 1})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


async def test_unvote_without_token_is_401(
    client: AsyncClient, voter: dict[str, Any], post: dict[str, Any]
) -> None:
    await vote(client, voter["headers"], post["id"])
    response = await client.post("/vote", json={"post_id": post["id"], "dir": 0})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert await seen_by(client, voter, post["id"]) == (1, True)
