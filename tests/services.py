"""The local services some tests need (PostgreSQL, Redis), and markers that skip those tests without them."""

import psycopg
import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"


def redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def postgres_available() -> bool:
    try:
        psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


needs_redis = pytest.mark.skipif(not redis_available(), reason="needs Redis on 127.0.0.1:6379")
needs_postgres = pytest.mark.skipif(not postgres_available(), reason="needs PostgreSQL on 127.0.0.1:5432")
