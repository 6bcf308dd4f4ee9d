"""The framework's ceiling: a bare FastAPI endpoint returning a constant small JSON object.

Served by the same uvicorn (one worker, no access log) and loaded by the same wrk settings as
the app, so each scenario's requests/s can be read as a share of what FastAPI and uvicorn do
on this machine with no middleware, no authentication and no database.
"""

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
async def bare() -> dict[str, str]:
    return {"message": "ok"}
