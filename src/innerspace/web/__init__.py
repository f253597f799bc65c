"""What every HTTP router shares: who is calling, the public base URL, media types, reading
form bodies, the request-size limit, and turning errors into responses. Knows no protocol's
details: the routers (uws/routes.py, apps/routes.py, registry/*/routes.py) and the app
factory (server.py) build on it."""
