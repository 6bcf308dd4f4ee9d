"""Posts API: users, login, posts and votes on async FastAPI and SQLModel."""
