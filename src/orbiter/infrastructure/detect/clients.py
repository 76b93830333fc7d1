"""Database and cache clients among a project's dependencies, by ecosystem, and the resource
type each one means."""

from __future__ import annotations

NODE = {
    "pg": "postgresql",
    "postgres": "postgresql",
    "pg-promise": "postgresql",
    "@neondatabase/serverless": "postgresql",
    "mysql": "mysql",
    "mysql2": "mysql",
    "mongodb": "mongodb",
    "mongoose": "mongodb",
    "redis": "redis",
    "ioredis": "redis",
    "@redis/client": "redis",
    "sqlite3": "sqlite",
    "better-sqlite3": "sqlite",
}
PYTHON = {
    "psycopg": "postgresql",
    "psycopg2": "postgresql",
    "psycopg2-binary": "postgresql",
    "asyncpg": "postgresql",
    "pg8000": "postgresql",
    "pymysql": "mysql",
    "mysqlclient": "mysql",
    "aiomysql": "mysql",
    "asyncmy": "mysql",
    "mysql-connector-python": "mysql",
    "pymongo": "mongodb",
    "motor": "mongodb",
    "mongoengine": "mongodb",
    "beanie": "mongodb",
    "redis": "redis",
    "aioredis": "redis",
    "aiosqlite": "sqlite",
}
GO = {
    "github.com/lib/pq": "postgresql",
    "github.com/jackc/pgx": "postgresql",
    "github.com/go-sql-driver/mysql": "mysql",
    "go.mongodb.org/mongo-driver": "mongodb",
    "github.com/redis/go-redis": "redis",
    "github.com/go-redis/redis": "redis",
    "github.com/gomodule/redigo": "redis",
    "github.com/mattn/go-sqlite3": "sqlite",
    "modernc.org/sqlite": "sqlite",
}
# Django's ENGINE setting.
DJANGO_ENGINES = {
    "postgresql": "postgresql",
    "postgis": "postgresql",
    "mysql": "mysql",
    "sqlite3": "sqlite",
}
CACHES = frozenset({"redis"})
# The environment variable an app conventionally reads each resource from.
ENV_VARS = {
    "postgresql": "DATABASE_URL",
    "mysql": "DATABASE_URL",
    "sqlite": "DATABASE_URL",
    "mongodb": "MONGODB_URI",
    "redis": "REDIS_URL",
}


def kind_of(resource_type: str) -> str:
    return "cache" if resource_type in CACHES else "database"
