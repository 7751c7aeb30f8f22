#!/usr/bin/env python3
"""Writes the SBOM of the release binary as SPDX 2.3 JSON:

    scripts/sbom.py OUT.json VERSION EPOCH TOOLCHAIN TARGET...

The packages are the crates the binary is built from for the TARGETs
(`cargo metadata`: normal and build dependencies, no dev ones) with their
versions, licences and Cargo.lock checksums, and the Rust standard library
of TOOLCHAIN, which the release build compiles in (docs/development.md,
"Releases"). EPOCH (the commit's time) dates the document, so the same
commit gives the same bytes.
"""
import hashlib
import json
import subprocess
import sys
import time
import tomllib


def metadata(target):
    out = subprocess.run(["cargo", "metadata", "--locked", "--format-version", "1", "--filter-platform", target],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def reachable(meta):
    """The root package's id and {id: set of ids it depends on}, without dev dependencies."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    edges, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if pid in edges:
            continue
        deps = {d["pkg"] for d in nodes[pid]["deps"] if any(k["kind"] != "dev" for k in d["dep_kinds"])}
        edges[pid] = deps
        todo.extend(deps)
    return root, edges


def ref(name, version):
    return "SPDXRef-Package-" + "".join(c if c.isalnum() or c in ".-" else "-" for c in f"{name}-{version}")


def package(pkg, sums):
    name, version = pkg["name"], pkg["version"]
    entry = {
        "SPDXID": ref(name, version),
        "name": name,
        "versionInfo": version,
        "downloadLocation": f"https://crates.io/api/v1/crates/{name}/{version}/download" if pkg["source"] else "NOASSERTION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": (pkg["license"] or "NOASSERTION").replace("/", " OR "),
        "copyrightText": "NOASSERTION",
        "filesAnalyzed": False,
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": f"pkg:cargo/{name}@{version}"}],
    }
    if (name, version) in sums:
        entry["checksums"] = [{"algorithm": "SHA256", "checksumValue": sums[(name, version)]}]
    return entry


def main(out, version, epoch, toolchain, *targets):
    with open("Cargo.lock", "rb") as f:
        lock = f.read()
    sums = {(p["name"], p["version"]): p["checksum"] for p in tomllib.loads(lock.decode())["package"] if "checksum" in p}
    packages, relations = {}, set()
    for target in targets:
        meta = metadata(target)
        by_id = {p["id"]: p for p in meta["packages"]}
        root, edges = reachable(meta)
        for pid, deps in edges.items():
            packages[pid] = package(by_id[pid], sums)
            for dep in deps:
                relations.add((packages[pid]["SPDXID"], ref(by_id[dep]["name"], by_id[dep]["version"])))
        root_ref = packages[root]["SPDXID"]
    std = {"SPDXID": "SPDXRef-Package-rust-std", "name": "rust-std", "versionInfo": toolchain,
           "downloadLocation": "NOASSERTION", "licenseConcluded": "NOASSERTION",
           "licenseDeclared": "MIT OR Apache-2.0", "copyrightText": "NOASSERTION", "filesAnalyzed": False}
    relations.add((root_ref, std["SPDXID"]))
    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"mooring-{version}",
        "documentNamespace": f"https://spdx.org/spdxdocs/mooring-{version}-{hashlib.sha256(lock).hexdigest()[:16]}",
        "creationInfo": {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch))),
                         "creators": ["Tool: mooring-scripts-sbom.py"]},
        "packages": sorted(packages.values(), key=lambda p: p["SPDXID"]) + [std],
        "relationships": [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                           "relatedSpdxElement": root_ref}]
        + [{"spdxElementId": a, "relationshipType": "DEPENDS_ON", "relatedSpdxElement": b}
           for a, b in sorted(relations)],
    }
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
