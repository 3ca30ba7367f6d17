"""A round trip through `kv serve` with Cloudflare's official Python SDK.

Run by tests/server_real_client.rs, which starts the server and passes its address:

    python3 tests/clients/cloudflare_roundtrip.py http://127.0.0.1:PORT API_KEY STORE

The SDK (cloudflare on PyPI, version pinned in .ci/run) talks to the server exactly as
it talks to api.cloudflare.com: base_url is the only change. Exits non-zero with a
message on the first mismatch.
"""

import sys
import time

from cloudflare import Cloudflare, NotFoundError

base, token, store = sys.argv[1], sys.argv[2], sys.argv[3]
account = "0123456789abcdef0123456789abcdef"

client = Cloudflare(api_token=token, base_url=f"{base}/client/v4", max_retries=0, timeout=30)
kv = client.kv.namespaces


def check(condition, message):
    if not condition:
        print(f"FAIL: {message}", file=sys.stderr)
        sys.exit(1)


# Namespaces: the manifest's stores, paged with page/per_page until an empty page.
titles = [ns.title for ns in kv.list(account_id=account, per_page=5)]
check(store in titles, f"{store} not in namespaces {titles}")

# Put with metadata and a TTL (multipart/form-data), then get it back.
kv.values.update(
    "user/42 ü%",
    account_id=account,
    namespace_id=store,
    value=b"John Doe",
    metadata={"role": "admin", "n": 1},
    expiration_ttl=3600,
)
response = kv.values.get("user/42 ü%", account_id=account, namespace_id=store)
check(response.text() == "John Doe", f"value: {response.text()!r}")
expiration = int(response.headers.get("expiration", "0"))
check(abs(expiration - (time.time() + 3600)) < 60, f"expiration header: {expiration}")
metadata = kv.metadata.get("user/42 ü%", account_id=account, namespace_id=store)
check(metadata == {"role": "admin", "n": 1}, f"metadata: {metadata!r}")

# Bulk put 25 keys (one base64), then list with pagination to the end.
items = [{"key": f"page/{i:02d}", "value": f"v{i}"} for i in range(24)]
items.append({"key": "page/bin", "value": "AAEC", "base64": True, "metadata": {"b": True}})
result = kv.bulk_update(store, account_id=account, body=items)
check(result.successful_key_count == 25, f"bulk_update: {result}")
check(not result.unsuccessful_keys, f"bulk_update: {result}")

names = []
pages = 0
for key in kv.keys.list(store, account_id=account, prefix="page/", limit=10):
    names.append(key.name)
    if len(names) > 100:
        check(False, "key listing did not terminate")
check(names == sorted(names) and len(names) == 25, f"listed {len(names)}: {names}")
page = kv.keys.list(store, account_id=account, prefix="page/", limit=10)
while True:
    pages += 1
    check(pages <= 5, "pagination did not terminate")
    if not page.has_next_page():
        break
    page = page.get_next_page()
check(pages == 3, f"pages: {pages}")

binary = kv.values.get("page/bin", account_id=account, namespace_id=store).read()
check(binary == b"\x00\x01\x02", f"base64 value: {binary!r}")

got = kv.bulk_get(store, account_id=account, keys=["page/00", "page/23", "missing"])
check(got.values == {"page/00": "v0", "page/23": "v23", "missing": None}, f"bulk_get: {got}")

# Bulk delete, then delete the single key; reading it is then a 404 (code 10009).
deleted = kv.bulk_delete(store, account_id=account, body=[f"page/{i:02d}" for i in range(24)] + ["page/bin"])
check(deleted.successful_key_count == 25, f"bulk_delete: {deleted}")
remaining = [key.name for key in kv.keys.list(store, account_id=account, prefix="page/")]
check(remaining == [], f"left after bulk delete: {remaining}")

kv.values.delete("user/42 ü%", account_id=account, namespace_id=store)
try:
    kv.values.get("user/42 ü%", account_id=account, namespace_id=store)
    check(False, "deleted key is still readable")
except NotFoundError as error:
    check(error.status_code == 404, f"status {error.status_code}")
    check("10009" in str(error) or "key not found" in str(error), f"error: {error}")

print("ok: cloudflare-python round trip")
