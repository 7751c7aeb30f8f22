"""`init run add-user EMAIL [ROLE]`: the bootstrap account (role admin by
default), its password ADMIN_PASSWORD from the env file, stored hashed.
Adding an existing EMAIL again sets its role and password."""

import hashlib
import os
import sys

from portal import db

if len(sys.argv) < 2:
    sys.exit("usage: init run add-user EMAIL [ROLE]")
email, role = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else "admin")
salt = os.urandom(16)
digest = hashlib.pbkdf2_hmac("sha256", os.environ["ADMIN_PASSWORD"].encode(), salt, 100_000)
with db.connect() as conn, conn.cursor() as cur:
    cur.execute(
        "INSERT INTO users (email, role, password) VALUES (%s, %s, %s)"
        " ON CONFLICT (email) DO UPDATE SET role = EXCLUDED.role, password = EXCLUDED.password RETURNING id",
        (email, role, salt.hex() + ":" + digest.hex()),
    )
    user_id = cur.fetchone()[0]
print(f"add-user: {email} is {role} (id {user_id})")
