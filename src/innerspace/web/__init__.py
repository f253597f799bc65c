"""What every HTTP router shares: who is calling, the public base URL, media types, reading
form bodies under caps, serving job files so that they cannot act in the service's origin,
and turning errors into responses; and the middleware every request passes (the body size
limit, trusted Host names, cross-site writes, HEAD as GET, headers on every response).
Knows no protocol's details: the routers (uws/routes.py, apps/routes.py, registry/*/routes.py)
and the app factory (server.py) build on it."""
