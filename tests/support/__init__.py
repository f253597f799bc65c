"""What the tests share that is not a fixture: paths, live services and registries, test
clients, sample records, the fake engine. Fixtures live in the conftest.py files and build
on these."""
