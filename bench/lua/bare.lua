-- bare: GET /bare on bench/bare.py, a FastAPI app returning a constant small JSON object: the
-- framework's ceiling on this machine, with the same uvicorn and wrk settings.
wrk.path = "/bare"
