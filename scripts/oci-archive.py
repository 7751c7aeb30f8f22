#!/usr/bin/env python3
"""Writes mooring's image as a multi-arch OCI image archive, byte for byte
the same on every machine for the same inputs (docs/development.md,
"Releases"):

    scripts/oci-archive.py OUT.tar VERSION EPOCH LICENSE amd64=BIN arm64=BIN

One index, one manifest per architecture, each image FROM scratch with two
files, /init (the static binary) and /LICENSE, and `/init` as entrypoint:
what images/mooring/Containerfile builds. Every timestamp is EPOCH (the
commit's time), every owner root, the gzip header carries no time or name,
and the archive's entries are in a fixed order.
"""
import gzip
import hashlib
import io
import json
import sys
import tarfile
import time

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def tar_bytes(entries, epoch):
    """A tar (PAX) of (name, bytes, mode) entries, owned by root, dated EPOCH."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode in entries:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, epoch
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def gzipped(data):
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as z:
        z.write(data)
    return out.getvalue()


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


class Blobs:
    """The archive's blobs by digest, in the order they were added."""

    def __init__(self):
        self.items = {}

    def add(self, media_type, data, **extra):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.items.setdefault(digest, data)
        return dict(mediaType=media_type, digest=digest, size=len(data), **extra)


def image(blobs, arch, binary, licence, version, epoch):
    """One architecture's image; returns its manifest's descriptor."""
    layer = tar_bytes([("LICENSE", licence, 0o644), ("init", binary, 0o755)], epoch)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    labels = {
        "org.opencontainers.image.title": "mooring",
        "org.opencontainers.image.description": "A container init in one static binary: /init",
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.licenses": "MIT",
    }
    config = {
        "architecture": arch,
        "os": "linux",
        "created": created,
        "config": {"Entrypoint": ["/init"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
        "history": [{"created": created, "created_by": "mooring scripts/oci-archive.py"}],
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": blobs.add(CONFIG, canonical(config)),
        "layers": [blobs.add(LAYER, gzipped(layer))],
        "annotations": {"org.opencontainers.image.version": version},
    }
    platform = {"architecture": arch, "os": "linux"}
    if arch == "arm64":
        platform["variant"] = "v8"
    return blobs.add(MANIFEST, canonical(manifest), platform=platform)


def main(out, version, epoch, licence_path, *arch_bins):
    epoch = int(epoch)
    with open(licence_path, "rb") as f:
        licence = f.read()
    blobs, manifests = Blobs(), []
    for pair in arch_bins:
        arch, path = pair.split("=", 1)
        with open(path, "rb") as f:
            manifests.append(image(blobs, arch, f.read(), licence, version, epoch))
    images = blobs.add(INDEX, canonical({"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}),
                       annotations={"org.opencontainers.image.ref.name": "mooring:" + version})
    # index.json names one thing, the multi-arch index: `podman load` takes a
    # layout of one image (or list) without being told which.
    index = {"schemaVersion": 2, "mediaType": INDEX, "manifests": [images]}
    entries = [("oci-layout", canonical({"imageLayoutVersion": "1.0.0"}), 0o644),
               ("index.json", canonical(index), 0o644)]
    entries += [("blobs/sha256/" + d.split(":", 1)[1], data, 0o644) for d, data in sorted(blobs.items.items())]
    with open(out, "wb") as f:
        f.write(tar_bytes(entries, epoch))


if __name__ == "__main__":
    if len(sys.argv) < 6:
        sys.exit(__doc__)
    main(*sys.argv[1:])
