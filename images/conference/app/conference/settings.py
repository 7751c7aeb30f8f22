"""The editable configuration: `key = value` lines in INDICO_CONFIG, a file
on the config volume that init writes once (`init run make-config`) and the
operator may then edit."""

import os


def load():
    settings = {}
    with open(os.environ["INDICO_CONFIG"]) as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep and not key.lstrip().startswith("#"):
                settings[key.strip()] = value.strip()
    return settings
