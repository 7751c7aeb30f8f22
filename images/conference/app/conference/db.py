"""Connections to PostgreSQL, from the environment init gives every child:
DB_HOST, DB_NAME, DB_USER and DB_PASSWORD (init reads it from the secret
file DB_PASSWORD_FILE names)."""

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
