"""Alembic environment: runs migrations on the engine handed over by `upgrade()`."""

from alembic import context

from innerspace.db.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    context.run_migrations()
