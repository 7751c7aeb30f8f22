"""Connections to PostgreSQL, from the environment init gives every child
(DB_HOST, DB_NAME, DB_USER, DB_PASSWORD: see config/init.toml)."""

import os

import psycopg2


def connect():
    return psycopg2.connect(
        host=os.environ["DB_HOST"],
        dbname=os.environ["DB_NAME"],
        user=os.environ["DB_USER"],
        password=os.environ["DB_PASSWORD"],
        connect_timeout=10,
    )
