"""The web server inside `backbone run`: health checks and the projector view (Starlette,
served by uvicorn in the bot's own event loop). No telegram, no sqlalchemy: pages read
through the use cases in bot/services."""
