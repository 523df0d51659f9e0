"""The baseline of bench/verify_lookup.py: a FastAPI hello-world, served the same way."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
async def hello() -> dict:
    return {"hello": "world"}
