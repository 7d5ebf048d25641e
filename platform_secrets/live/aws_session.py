"""boto3 sessions that share one reader of botocore's service models.

Each ``boto3.Session()`` builds a botocore session with a loader of its own, and its first client of a service
parses that service's model files again (IAM's alone is over a megabyte of JSON). The models are read-only data
of the installed botocore, so every session of this process shares one loader: the same clients, built from the
same files, without parsing them once per session. Credentials, region and configuration stay per session.
"""

from __future__ import annotations

import functools

import boto3
import botocore.loaders
import botocore.session


@functools.cache
def _loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


def new_session() -> boto3.Session:
    """A fresh session (the environment's credentials and region), reading models through the shared loader."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _loader())
    return boto3.Session(botocore_session=core)
