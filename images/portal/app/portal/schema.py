"""The `db-prepare` oneshot: creates the schema; running it again changes nothing."""

from portal import db

with db.connect() as conn, conn.cursor() as cur:
    cur.execute(
        "CREATE TABLE IF NOT EXISTS users ("
        " id serial PRIMARY KEY, email text UNIQUE NOT NULL, role text NOT NULL, password text NOT NULL)"
    )
print("db-prepare: schema ready")
