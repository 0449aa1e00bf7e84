"""Recipe: a Starlette (or FastAPI: same lifespan) app whose lifespan opens the pool and closes it.

Run it with ``uvicorn tests.recipes.starlette_app:app``; the test suite drives
it with Starlette's ``TestClient``, which runs the lifespan like a server does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from matrx_orm import DoesNotExist, close_pools, get_pool
from tests.recipes.catalog import Product


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await get_pool("shop")  # connect at startup: a bad DATABASE_URL fails now, not on the first request
    yield
    await close_pools()  # every pool this event loop opened


def as_json(product: Product) -> dict[str, object]:
    return {"id": product.id, "name": product.name, "price": str(product.price), "active": product.active}


async def list_products(request: Request) -> JSONResponse:
    products = await Product.filter(active=True).order_by("name").all()
    return JSONResponse([as_json(p) for p in products])


async def create_product(request: Request) -> JSONResponse:
    data = await request.json()
    product = await Product.create(name=data["name"], price=Decimal(data["price"]))
    return JSONResponse(as_json(product), status_code=201)


async def get_product(request: Request) -> JSONResponse:
    try:
        product = await Product.get(id=request.path_params["id"])
    except DoesNotExist:
        return JSONResponse({"error": "no such product"}, status_code=404)
    return JSONResponse(as_json(product))


app = Starlette(
    routes=[
        Route("/products", list_products, methods=["GET"]),
        Route("/products", create_product, methods=["POST"]),
        Route("/products/{id:int}", get_product, methods=["GET"]),
    ],
    lifespan=lifespan,
)
